/**
 * Request checks of the fake LLM server. Each returns a problem text (phrased like the real API's
 * HTTP 400 message) or undefined. They exist to catch agent bugs that only a real provider would
 * reveal: unanswered tool calls, tools that strict mode rejects, options without tools.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isContent = (v: unknown) => typeof v === 'string' || Array.isArray(v);
/** Array.isArray without the `any[]` it narrows to. */
const asArray = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? (v as unknown[]) : undefined);

/** Checks a Chat Completions request body; undefined when it would be accepted. */
export function checkChatBody(body: unknown): string | undefined {
  if (!isObject(body)) return 'We could not parse the JSON body of your request.';
  const messages = asArray(body.messages);
  if (!messages || messages.length === 0) return "Invalid 'messages': expected a non-empty array.";
  const problem = checkMessages(messages);
  if (problem) return problem;
  const hasTools = (asArray(body.tools)?.length ?? 0) > 0;
  if (body.tools !== undefined) {
    const toolProblem = checkTools(body.tools);
    if (toolProblem) return toolProblem;
  }
  if (!hasTools && body.tool_choice !== undefined)
    return "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.";
  if (!hasTools && body.parallel_tool_calls !== undefined)
    return "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.";
  for (const field of ['max_tokens', 'max_completion_tokens']) {
    const limit = body[field];
    if (limit == null) continue;
    if (typeof limit !== 'number' || !Number.isInteger(limit))
      return `Invalid type for '${field}': expected an integer, but got ${typeof limit} instead.`;
    if (limit < 1)
      return `Invalid '${field}': integer below minimum value. Expected a value >= 1, but got ${limit} instead.`;
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    return "Invalid type for 'stream': expected a boolean.";
  if (body.stream_options != null && body.stream !== true)
    return "The 'stream_options' parameter is only allowed when 'stream' is enabled.";
  return undefined;
}

function checkMessages(messages: unknown[]): string | undefined {
  let pending = new Set<string>();
  for (const [i, m] of messages.entries()) {
    if (!isObject(m)) return `Invalid type for 'messages[${i}]': expected an object.`;
    if (m.role !== 'tool' && pending.size > 0) return unanswered(pending);
    switch (m.role) {
      case 'system':
      case 'developer':
      case 'user':
        if (!isContent(m.content))
          return `Invalid type for 'messages[${i}].content': expected one of a string or array of objects.`;
        break;
      case 'assistant': {
        const calls = asArray(m.tool_calls);
        if (m.tool_calls !== undefined) {
          if (!calls || calls.length === 0)
            return `Invalid 'messages[${i}].tool_calls': empty array. Expected an array with minimum length 1.`;
          for (const [j, c] of calls.entries()) {
            const fn = isObject(c) ? c.function : undefined;
            if (
              !isObject(c) ||
              typeof c.id !== 'string' ||
              c.type !== 'function' ||
              !isObject(fn) ||
              typeof fn.name !== 'string' ||
              typeof fn.arguments !== 'string'
            ) {
              return `Invalid 'messages[${i}].tool_calls[${j}]': expected { id, type: 'function', function: { name, arguments: string } }.`;
            }
          }
          pending = new Set(calls.map((c) => String((c as Json).id)));
          if (pending.size !== calls.length) return `Invalid 'messages[${i}].tool_calls': duplicate tool call ids.`;
        }
        if (m.content === null || m.content === undefined) {
          if (m.tool_calls === undefined)
            return `Invalid value for 'messages[${i}].content': expected a string, got null.`;
        } else if (!isContent(m.content)) {
          return `Invalid type for 'messages[${i}].content': expected one of a string or array of objects.`;
        }
        break;
      }
      case 'tool':
        if (typeof m.tool_call_id !== 'string' || !pending.has(m.tool_call_id)) {
          return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.";
        }
        if (!isContent(m.content))
          return `Invalid type for 'messages[${i}].content': expected one of a string or array of objects.`;
        pending.delete(m.tool_call_id);
        break;
      default:
        return `Invalid value: '${String(m.role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`;
    }
  }
  return pending.size > 0 ? unanswered(pending) : undefined;
}

function unanswered(pending: Set<string>): string {
  return (
    "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. " +
    `The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`
  );
}

function checkTools(value: unknown): string | undefined {
  const tools = asArray(value);
  if (!tools) return "Invalid type for 'tools': expected an array.";
  const names = new Set<string>();
  for (const [i, t] of tools.entries()) {
    const fn = isObject(t) ? t.function : undefined;
    if (!isObject(t) || t.type !== 'function' || !isObject(fn))
      return `Invalid 'tools[${i}]': expected { type: 'function', function: {...} }.`;
    const name = fn.name;
    if (typeof name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
      return `Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`;
    }
    if (names.has(name)) return `Invalid 'tools': duplicate function name '${name}'.`;
    names.add(name);
    if (fn.description !== undefined && typeof fn.description !== 'string')
      return `Invalid type for 'tools[${i}].function.description': expected a string.`;
    if (fn.parameters !== undefined && !isObject(fn.parameters))
      return `Invalid type for 'tools[${i}].function.parameters': expected an object.`;
    if (fn.strict === true) {
      const problem = strictSchemaProblem(fn.parameters ?? {}, []);
      if (problem) return `Invalid schema for function '${name}': ${problem}`;
    }
  }
  return undefined;
}

const unsupported = [
  'allOf',
  'not',
  'if',
  'then',
  'else',
  'dependentRequired',
  'dependentSchemas',
  'patternProperties',
  'oneOf',
];

/** The strict-mode (structured outputs) rules a real provider enforces on tool parameters. */
export function strictSchemaProblem(schema: unknown, path: string[]): string | undefined {
  const where = `In context=(${path.map((p) => `'${p}'`).join(', ')})`;
  if (!isObject(schema)) return `${where}, schema must be a JSON Schema object.`;
  if (path.length === 0 && schema.type !== 'object')
    return `${where}, schema must be a JSON Schema of 'type: "object"', got 'type: "${String(schema.type)}"'.`;
  for (const key of unsupported) if (key in schema) return `${where}, '${key}' is not permitted.`;
  const types = asArray(schema.type) ?? [schema.type];
  if (types.includes('object') || isObject(schema.properties)) {
    if (schema.additionalProperties !== false)
      return `${where}, 'additionalProperties' is required to be supplied and to be false.`;
    const props = isObject(schema.properties) ? Object.keys(schema.properties) : [];
    const required = asArray(schema.required);
    const missing = props.filter((p) => !required?.includes(p));
    if (!required || missing.length > 0) {
      return `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0] ?? ''}'.`;
    }
  }
  const children: [string[], unknown][] = [];
  if (isObject(schema.properties))
    for (const [k, v] of Object.entries(schema.properties)) children.push([[...path, 'properties', k], v]);
  if (isObject(schema.items)) children.push([[...path, 'items'], schema.items]);
  asArray(schema.prefixItems)?.forEach((v, i) => children.push([[...path, 'prefixItems', String(i)], v]));
  asArray(schema.anyOf)?.forEach((v, i) => children.push([[...path, 'anyOf', String(i)], v]));
  for (const defs of ['$defs', 'definitions'] as const) {
    const d = schema[defs];
    if (isObject(d)) for (const [k, v] of Object.entries(d)) children.push([[...path, defs, k], v]);
  }
  for (const [p, child] of children) {
    const problem = strictSchemaProblem(child, p);
    if (problem) return problem;
  }
  return undefined;
}
