import { z } from 'zod';

type JsonSchema = { [key: string]: unknown };

/**
 * JSON Schema for a tool's parameters in OpenAI's strict mode: every object closed
 * (`additionalProperties: false`), every property listed in `required`, optional ones made
 * nullable, and keywords strict mode rejects (`default`, `$schema`) removed.
 */
export function toStrictJsonSchema(schema: z.ZodObject): JsonSchema {
  const raw = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete raw.$schema;
  return strictify(raw);
}

function strictify(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'default') continue;
    out[key] = value;
  }
  if (out.type === 'object' && out.properties && typeof out.properties === 'object') {
    const props = out.properties as Record<string, JsonSchema>;
    const required = new Set((out.required as string[] | undefined) ?? []);
    const strictProps: Record<string, JsonSchema> = {};
    for (const [name, prop] of Object.entries(props)) {
      const inner = strictify(prop);
      if (required.has(name)) {
        strictProps[name] = inner;
      } else {
        const { description, ...rest } = inner;
        strictProps[name] = { anyOf: [rest, { type: 'null' }], ...(description ? { description } : {}) };
      }
    }
    out.properties = strictProps;
    out.required = Object.keys(props);
    out.additionalProperties = false;
  }
  if (out.items && typeof out.items === 'object') out.items = strictify(out.items as JsonSchema);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (Array.isArray(out[key])) out[key] = (out[key] as JsonSchema[]).map(strictify);
  }
  return out;
}

/** Strict mode sends `null` for omitted optional fields; zod expects them absent. */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, dropNulls(v)]));
  }
  return value;
}

/** Parses a model's raw argument string against a tool schema; returns a readable error instead of throwing. */
export function parseToolArguments<S extends z.ZodObject>(schema: S, raw: string):
  { ok: true; args: z.infer<S> } | { ok: false; error: string } {
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
