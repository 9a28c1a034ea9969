import { forEachJSONSchemaChild, toStrictJsonSchema as openAiStrictJsonSchema } from 'openai/lib/transform';
import { z } from 'zod';

type JsonSchema = { [key: string]: unknown };

/**
 * JSON Schema for a tool's parameters in OpenAI's strict mode: every object closed
 * (`additionalProperties: false`), every property listed in `required`, optional ones made
 * nullable, and keywords strict mode rejects (`default`, `$schema`) removed.
 *
 * zod writes the input schema; RenderBot's one convention — an optional field is sent as
 * `null` (see `dropNulls`) — is applied here; the `openai` package's strict-schema transform
 * (what its `zodFunction` helper uses) closes and requires every object and throws on anything
 * strict mode cannot express, so a tool with such a schema fails when the specs are built, not
 * at the provider.
 */
export function toStrictJsonSchema(schema: z.ZodObject): JsonSchema {
  const raw = z.toJSONSchema(schema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }) as JsonSchema;
  delete raw.$schema;
  nullableOptionals(raw);
  return openAiStrictJsonSchema(raw) as JsonSchema;
}

/**
 * Drops `default` and turns every property missing from `required` into `anyOf: [schema, null]`
 * (unless it already accepts null), depth first.
 */
function nullableOptionals(node: unknown): void {
  if (!isSchema(node)) return;
  delete node.default;
  forEachJSONSchemaChild(node, [], (child) => nullableOptionals(child));
  if (!isSchema(node.properties)) return;
  const required = new Set(Array.isArray(node.required) ? node.required : []);
  for (const [name, prop] of Object.entries(node.properties)) {
    if (required.has(name) || !isSchema(prop) || acceptsNull(prop)) continue;
    const { description, ...rest } = prop;
    node.properties[name] = { anyOf: [rest, { type: 'null' }], ...(description ? { description } : {}) };
  }
}

function acceptsNull(schema: JsonSchema): boolean {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return (
    types.includes('null') || (Array.isArray(schema.anyOf) && schema.anyOf.some((s) => isSchema(s) && acceptsNull(s)))
  );
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Strict mode sends `null` for omitted optional fields; zod expects them absent. */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, dropNulls(v)]),
    );
  }
  return value;
}

/** Parses a model's raw argument string against a tool schema; returns a readable error instead of throwing. */
export function parseToolArguments<S extends z.ZodObject>(
  schema: S,
  raw: string,
): { ok: true; args: z.infer<S> } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    return { ok: false, error: 'The arguments were not valid JSON. Send a JSON object matching the tool schema.' };
  }
  const parsed = schema.safeParse(dropNulls(json));
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`);
    return { ok: false, error: `Invalid arguments — ${problems.join('; ')}` };
  }
  return { ok: true, args: parsed.data };
}
