/**
 * Response bodies of the fake LLM server, shaped like real Azure OpenAI / OpenAI Chat Completions
 * responses: `chat.completion` JSON, `chat.completion.chunk` SSE events, and error bodies.
 */

/** Which wire dialect the fake speaks. */
export type FakeProvider = 'azure' | 'openai';

/** A fully resolved answer, ready to serialize. */
export type WireReply = {
  content: string | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string;
  usage: { promptTokens: number; completionTokens: number };
};

type Meta = { provider: FakeProvider; id: string; model: string; created: number };

const safeFilter = {
  hate: { filtered: false, severity: 'safe' },
  self_harm: { filtered: false, severity: 'safe' },
  sexual: { filtered: false, severity: 'safe' },
  violence: { filtered: false, severity: 'safe' },
};

function usageJson(u: WireReply['usage']) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

function toolCallsJson(r: WireReply) {
  return r.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
}

/** A non-streaming `chat.completion` object. */
export function completionJson(meta: Meta, r: WireReply): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: r.content, refusal: null, annotations: [] };
  if (r.toolCalls.length > 0) message.tool_calls = toolCallsJson(r);
  const choice: Record<string, unknown> = { index: 0, message, logprobs: null, finish_reason: r.finishReason };
  const out: Record<string, unknown> = {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    system_fingerprint: 'fp_fake',
    choices: [choice],
    usage: usageJson(r.usage),
  };
  if (meta.provider === 'azure') {
    choice.content_filter_results = safeFilter;
    out.prompt_filter_results = [{ prompt_index: 0, content_filter_results: safeFilter }];
  }
  return out;
}

/** Splits `text` into at most `n` non-empty pieces on code-point boundaries. */
function pieces(text: string, n = 3): string[] {
  const chars = Array.from(text);
  if (chars.length === 0) return [];
  const size = Math.ceil(chars.length / n);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}

/**
 * The SSE payloads (without `data: ` framing) of a streamed answer: Azure's prompt-filter chunk,
 * a role chunk, content deltas in a few pieces, per tool call a header delta (index, id, name)
 * and argument pieces, a finish chunk, and the usage chunk when `includeUsage`.
 */
export function streamChunks(meta: Meta, r: WireReply, includeUsage: boolean): Record<string, unknown>[] {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): Record<string, unknown> => {
    const choice: Record<string, unknown> = { index: 0, delta, logprobs: null, finish_reason: finish };
    if (meta.provider === 'azure') choice.content_filter_results = finish ? {} : safeFilter;
    const out: Record<string, unknown> = {
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      system_fingerprint: 'fp_fake',
      choices: [choice],
    };
    if (includeUsage) out.usage = null;
    return out;
  };
  const out: Record<string, unknown>[] = [];
  if (meta.provider === 'azure') {
    out.push({
      choices: [],
      created: 0,
      id: '',
      model: '',
      object: '',
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: safeFilter }],
    });
  }
  out.push(chunk({ role: 'assistant', content: r.toolCalls.length > 0 && !r.content ? null : '', refusal: null }));
  for (const piece of pieces(r.content ?? '')) out.push(chunk({ content: piece }));
  r.toolCalls.forEach((c, index) => {
    out.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
    for (const piece of pieces(c.arguments))
      out.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  out.push(chunk({}, r.finishReason));
  if (includeUsage) {
    out.push({
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      system_fingerprint: 'fp_fake',
      choices: [],
      usage: usageJson(r.usage),
    });
  }
  return out;
}

/** Azure's HTTP 400 body for a prompt blocked by the content filter. */
export function contentFilterBody(): Record<string, unknown> {
  return {
    error: {
      message:
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. " +
        'To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766',
      type: null,
      param: 'prompt',
      code: 'content_filter',
      status: 400,
      innererror: {
        code: 'ResponsibleAIPolicyViolation',
        content_filter_result: { ...safeFilter, violence: { filtered: true, severity: 'medium' } },
      },
    },
  };
}

/** A realistic default error body for `status` in the provider's dialect. */
export function errorBody(provider: FakeProvider, status: number, message?: string): Record<string, unknown> {
  if (provider === 'azure') {
    const defaults: Record<number, string> = {
      401: 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      404: 'Resource not found',
      429: 'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second.',
      500: 'The server had an error while processing your request. Sorry about that!',
    };
    const code = status === 404 ? 'DeploymentNotFound' : String(status);
    return { error: { code, message: message ?? defaults[status] ?? `HTTP ${status}` } };
  }
  const types: Record<number, [string, string | null]> = {
    400: ['invalid_request_error', null],
    401: ['invalid_request_error', 'invalid_api_key'],
    404: ['invalid_request_error', 'model_not_found'],
    429: ['requests', 'rate_limit_exceeded'],
  };
  const [type, code] = types[status] ?? ['server_error', null];
  return {
    error: {
      message:
        message ??
        (status >= 500 ? 'The server had an error while processing your request. Sorry about that!' : `HTTP ${status}`),
      type,
      param: null,
      code,
    },
  };
}

/** How OpenAI echoes a wrong key in its 401 message: first and last few characters only. */
export function maskKey(key: string): string {
  if (key.length < 8) return '***';
  return `${key.slice(0, 3)}${'*'.repeat(Math.min(20, key.length - 7))}${key.slice(-4)}`;
}
