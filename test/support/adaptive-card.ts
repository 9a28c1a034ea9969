import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type * as AdaptiveCards from 'adaptivecards';

const require = createRequire(import.meta.url);

/** The vendored official Adaptive Cards 1.5 schema (see test/fixtures/schemas/README.md). */
const ADAPTIVE_CARD_SCHEMA_PATH = new URL('../fixtures/schemas/adaptive-card-1.5.json', import.meta.url);

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
// The published schema declares draft-06 but names its id the draft-04 way ("id"); Ajv 8 wants "$id".
const { id: schemaId, ...cardSchema } = JSON.parse(readFileSync(ADAPTIVE_CARD_SCHEMA_PATH, 'utf8')) as {
  id: string;
} & Record<string, unknown>;
const validateSchema = ajv.compile({ $id: schemaId, ...cardSchema });

/** JSON-schema errors of `card` against Adaptive Cards 1.5 (empty when valid), as "path: message". */
export function cardSchemaProblems(card: unknown): string[] {
  validateSchema(card);
  return (validateSchema.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
}

const AC = require('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCards;

/**
 * What the Adaptive Cards object model (the `adaptivecards` renderer library) reports for
 * `card`: events raised while parsing it as a 1.5 card (unknown element or action types, invalid
 * property values) and by `validateProperties()` (duplicate ids, too many actions, empty
 * collections, …), as "Phase/Event: message". Empty when the library accepts the card.
 */
export function cardObjectModelProblems(card: unknown): string[] {
  const parsed = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  parsed.parse(card, context);
  const events = Array.from({ length: context.eventCount }, (_, i) => context.getEventAt(i));
  events.push(...parsed.validateProperties().validationEvents);
  return events.map((e) => `${AC.ValidationPhase[e.phase]}/${AC.ValidationEvent[e.event]}: ${e.message}`);
}
