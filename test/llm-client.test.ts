import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, PlatformError, RenderBotError } from '../core/errors.ts';
import { outputLimit, MAX_OUTPUT_TOKENS } from '../core/llm/output-limit.ts';
import {
  createChatModel,
  toAssistantMessage,
  type ChatMessage,
  type ChatModelOptions,
  type ToolSpec,
} from '../core/llm/client.ts';
import { LlmRateLimitedError, parseRetryAfterMs } from '../core/llm/retry.ts';
import { aiSettingsSchema } from '../core/llm/settings.ts';
import { createLogger } from '../core/logger.ts';
import { startFakeLlm, type FakeLlm, type FakeLlmOptions } from './fakes/llm-server.ts';

const SECRET = 'sk-test-9f8e7d6c5b4a39281706';

const started: FakeLlm[] = [];
async function fake(opts: FakeLlmOptions): Promise<FakeLlm> {
  const llm = await startFakeLlm(opts);
  started.push(llm);
  return llm;
}
afterEach(async () => {
  for (const llm of started.splice(0)) await llm.close();
});

/** A logger whose output is kept, to check that no key is ever logged. */
function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('debug', sink), text: () => lines.join('') };
}

const fast: ChatModelOptions = { timeoutMs: 5_000 };

/** The retry count the `openai` client sends with each request: it made the retries, not a loop around it. */
const retryCounts = (llm: FakeLlm) => llm.requests.map((r) => r.headers['x-stainless-retry-count']);

const tools: ToolSpec[] = [
  {
    name: 'search_products',
    description: 'Search the catalogue',
    parameters: {
      type: 'object',
      properties: { text: { type: 'string' }, category: { type: ['string', 'null'] } },
      required: ['text', 'category'],
      additionalProperties: false,
    },
  },
  {
    name: 'get_order',
    description: 'One order',
    parameters: {
      type: 'object',
      properties: { number: { type: 'string' } },
      required: ['number'],
      additionalProperties: false,
    },
  },
];
const messages: ChatMessage[] = [
  { role: 'system', content: 'You are RenderBot.' },
  { role: 'user', content: 'Find bearing 6204 and order SA-2026-00160' },
];

async function failure(p: Promise<unknown>): Promise<RenderBotError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RenderBotError);
  return err as RenderBotError;
}

function expectNoSecret(err: unknown, secret: string): void {
  expect(String(err)).not.toContain(secret);
  expect(inspect(err, { depth: 10 })).not.toContain(secret);
}

describe('request shape', () => {
  it('azure: deployment path, api-version, api-key header, strict tools', async () => {
    const llm = await fake({ provider: 'azure', deployment: 'gpt-4o', apiVersion: '2024-10-21', apiKey: SECRET });
    expect(aiSettingsSchema.parse(llm.settings)).toEqual(llm.settings);
    llm.enqueue({ content: 'Hello there', usage: { promptTokens: 12, completionTokens: 3 } });
    const result = await createChatModel(llm.settings, llm.apiKey, fast).complete({ messages, tools });
    expect(result).toEqual({
      content: 'Hello there',
      toolCalls: [],
      usage: { promptTokens: 12, completionTokens: 3 },
      finishReason: 'stop',
    });
    const [req] = llm.requests;
    expect(req?.path).toBe('/openai/deployments/gpt-4o/chat/completions');
    expect(req?.query).toEqual({ 'api-version': '2024-10-21' });
    expect(req?.headers['api-key']).toBe(SECRET);
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.body.messages).toEqual(messages);
    expect(req?.body.tools?.[0]).toEqual({ type: 'function', function: { ...tools[0], strict: true } });
    expect(req?.body.tools).toHaveLength(2);
    expect(req?.body.tool_choice).toBe('auto');
    expect(req?.body.parallel_tool_calls).toBe(true);
    expect(req?.body.stream).toBeUndefined();
    expect(req?.body.max_completion_tokens).toBe(MAX_OUTPUT_TOKENS);
    expect(req?.body.max_tokens).toBeUndefined();
    llm.assertDone();
  });

  it('openai: /v1 path, bearer key, model in the body', async () => {
    const llm = await fake({ provider: 'openai', model: 'gpt-4o-mini', apiKey: SECRET });
    expect(aiSettingsSchema.parse(llm.settings)).toEqual(llm.settings);
    llm.enqueue({ content: 'Hi' });
    const result = await createChatModel(llm.settings, llm.apiKey, fast).complete({ messages, tools });
    expect(result.content).toBe('Hi');
    expect(result.usage.promptTokens).toBeGreaterThan(0);
    const [req] = llm.requests;
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.query).toEqual({});
    expect(req?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(req?.headers['api-key']).toBeUndefined();
    expect(req?.body.model).toBe('gpt-4o-mini');
    expect(req?.body.tools?.every((t) => t.function.strict === true)).toBe(true);
    expect(req?.body.max_tokens).toBe(MAX_OUTPUT_TOKENS);
    expect(req?.body.max_completion_tokens).toBeUndefined();
    llm.assertDone();
  });

  it('bounds the answer with the field the provider understands', () => {
    const azure = { provider: 'azure', endpoint: 'https://r.openai.azure.com', deployment: 'gpt-4o' } as const;
    expect(outputLimit({ ...azure, apiVersion: '2024-10-21' })).toEqual({ max_completion_tokens: MAX_OUTPUT_TOKENS });
    expect(outputLimit({ ...azure, apiVersion: '2025-04-01-preview' })).toEqual({
      max_completion_tokens: MAX_OUTPUT_TOKENS,
    });
    expect(outputLimit({ ...azure, apiVersion: '2024-06-01' })).toEqual({ max_tokens: MAX_OUTPUT_TOKENS });
    expect(outputLimit({ provider: 'openai', baseUrl: 'https://api.openai.com/v1', model: 'gpt-5' })).toEqual({
      max_completion_tokens: MAX_OUTPUT_TOKENS,
    });
    expect(outputLimit({ provider: 'openai', baseUrl: 'http://localhost:11434/v1', model: 'llama3' })).toEqual({
      max_tokens: MAX_OUTPUT_TOKENS,
    });
  });

  it('without tools sends neither tools, tool_choice nor parallel_tool_calls', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({ content: 'ok' });
    await createChatModel(llm.settings, llm.apiKey, fast).complete({ messages });
    const body = llm.requests[0]?.body;
    expect(body && ['tools', 'tool_choice', 'parallel_tool_calls'].filter((k) => k in body)).toEqual([]);
    llm.assertDone();
  });
});

describe('tool calls', () => {
  it('parses parallel calls, passes malformed arguments through, and the follow-up request is valid', async () => {
    const llm = await fake({ provider: 'azure' });
    llm.enqueue({
      toolCalls: [
        { name: 'search_products', arguments: { text: '6204', category: null } },
        { name: 'get_order', arguments: '{"number": "SA-2026-00160"', id: 'call_custom' },
      ],
    });
    const model = createChatModel(llm.settings, llm.apiKey, fast);
    const first = await model.complete({ messages, tools });
    expect(first.content).toBeNull();
    expect(first.finishReason).toBe('tool_calls');
    expect(first.toolCalls).toEqual([
      { id: 'call_1_0', name: 'search_products', arguments: '{"text":"6204","category":null}' },
      { id: 'call_custom', name: 'get_order', arguments: '{"number": "SA-2026-00160"' },
    ]);

    llm.enqueue((req) => {
      expect(req.body.messages.slice(-3).map((m) => m.role)).toEqual(['assistant', 'tool', 'tool']);
      return { content: 'Found it.' };
    });
    const history: ChatMessage[] = [
      ...messages,
      toAssistantMessage(first),
      { role: 'tool', tool_call_id: 'call_1_0', content: '{"rows":[]}' },
      { role: 'tool', tool_call_id: 'call_custom', content: 'error: arguments are not valid JSON' },
    ];
    expect((await model.complete({ messages: history, tools })).content).toBe('Found it.');
    llm.assertDone();
  });
});

describe('fault handling', () => {
  it('429 with retry-after-ms: the client waits that long and retries once', async () => {
    const llm = await fake({ provider: 'azure' });
    llm.enqueue({ status: 429, headers: { 'retry-after-ms': '300' } }, { content: 'ok' });
    const started = Date.now();
    expect((await createChatModel(llm.settings, llm.apiKey, fast).complete({ messages })).content).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(llm.requests).toHaveLength(2);
    expect(retryCounts(llm)).toEqual(['0', '1']);
    llm.assertDone();
  });

  it('429 with retry-after seconds is honoured', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({ status: 429, headers: { 'retry-after': '0' } }, { content: 'ok' });
    expect((await createChatModel(llm.settings, llm.apiKey, fast).complete({ messages })).content).toBe('ok');
    expect(llm.requests).toHaveLength(2);
    llm.assertDone();
  });

  it('429 asking for longer than the cap fails fast with llm_rate_limited', async () => {
    const llm = await fake({ provider: 'azure' });
    llm.enqueue({ status: 429, headers: { 'retry-after': '120' } });
    const err = await failure(createChatModel(llm.settings, llm.apiKey, fast).complete({ messages }));
    expect(err).toBeInstanceOf(PlatformError);
    expect(err.code).toBe('llm_rate_limited');
    expect(llm.requests).toHaveLength(1);
    llm.assertDone();
  });

  it('429 insufficient_quota is a configuration problem, not retried', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({
      status: 429,
      body: {
        error: {
          message: 'You exceeded your current quota',
          type: 'insufficient_quota',
          param: null,
          code: 'insufficient_quota',
        },
      },
    });
    const err = await failure(createChatModel(llm.settings, llm.apiKey, fast).complete({ messages }));
    expect([err.code, err.fault]).toEqual(['llm_quota', 'config']);
    expect(llm.requests).toHaveLength(1);
  });

  it('500 then success', async () => {
    const llm = await fake({ provider: 'azure' });
    llm.enqueue({ status: 500 }, { status: 503 }, { content: 'recovered' });
    expect((await createChatModel(llm.settings, llm.apiKey, fast).complete({ messages })).content).toBe('recovered');
    expect(llm.requests).toHaveLength(3);
    expect(retryCounts(llm)).toEqual(['0', '1', '2']);
    llm.assertDone();
  });

  it('a server saying x-should-retry: false is not retried', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({ status: 503, headers: { 'x-should-retry': 'false' } });
    const err = await failure(createChatModel(llm.settings, llm.apiKey, fast).complete({ messages }));
    expect(err.code).toBe('llm_unavailable');
    expect(llm.requests).toHaveLength(1);
    llm.assertDone();
  });

  it("rateLimits 'throw': a 429 is handed over at once with its retry-after; 5xx are still retried", async () => {
    const llm = await fake({ provider: 'azure' });
    const model = createChatModel(llm.settings, llm.apiKey, fast);
    llm.enqueue({ status: 429, headers: { 'retry-after-ms': '250' } });
    const err = await failure(model.complete({ messages, rateLimits: 'throw' }));
    expect(err).toBeInstanceOf(LlmRateLimitedError);
    expect((err as LlmRateLimitedError).retryAfterMs).toBe(250);
    expect(llm.requests).toHaveLength(1);
    llm.enqueue({ status: 502 }, { content: 'ok' });
    expect((await model.complete({ messages, rateLimits: 'throw' })).content).toBe('ok');
    expect(retryCounts(llm).slice(1)).toEqual(['0', '1']);
    llm.assertDone();
  });

  it('a dropped connection is retried', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({ disconnect: true }, { content: 'ok' });
    expect((await createChatModel(llm.settings, llm.apiKey, fast).complete({ messages })).content).toBe('ok');
    expect(llm.requests).toHaveLength(2);
  });

  it('repeated 500 ends in llm_unavailable after maxAttempts requests', async () => {
    const llm = await fake({ provider: 'azure', apiKey: SECRET });
    const logs = capturingLogger();
    llm.enqueue({ status: 500 }, { status: 500 }, { status: 502 });
    const err = await failure(
      createChatModel(llm.settings, llm.apiKey, { ...fast, maxAttempts: 3, log: logs.log }).complete({ messages }),
    );
    expect(err).toBeInstanceOf(PlatformError);
    expect(err.code).toBe('llm_unavailable');
    expect(err.message).toBe('The AI service is unavailable right now, please try again in a minute.');
    expect(llm.requests).toHaveLength(3);
    expect(logs.text()).toContain('retrying');
    expect(logs.text()).not.toContain(SECRET);
    expectNoSecret(err, SECRET);
    llm.assertDone();
  });

  it('a hanging server times out, is retried, then llm_unavailable', async () => {
    const llm = await fake({ provider: 'azure' });
    llm.enqueue({ hang: true }, { hang: true });
    const started = Date.now();
    const err = await failure(
      createChatModel(llm.settings, llm.apiKey, { ...fast, timeoutMs: 100, maxAttempts: 2 }).complete({ messages }),
    );
    expect(err.code).toBe('llm_unavailable');
    expect(llm.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(3_000);
    llm.assertDone();
  });

  it('a slow answer times out and the retry succeeds', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({ content: 'late', delayMs: 500 }, { content: 'on time' });
    expect(
      (await createChatModel(llm.settings, llm.apiKey, { ...fast, timeoutMs: 100 }).complete({ messages })).content,
    ).toBe('on time');
    expect(llm.requests).toHaveLength(2);
  });

  it('content filter is final: llm_content_filter, no retry', async () => {
    const llm = await fake({ provider: 'azure' });
    llm.enqueue({ contentFilter: true });
    const err = await failure(createChatModel(llm.settings, llm.apiKey, fast).complete({ messages }));
    expect(err).toBeInstanceOf(PlatformError);
    expect(err.code).toBe('llm_content_filter');
    expect(err.message).toMatch(/rephrase/);
    expect(llm.requests).toHaveLength(1);
    llm.assertDone();
  });

  it.each(['azure', 'openai'] as const)(
    '%s: a rejected key is ConfigError llm_auth, never retried, key never shown',
    async (provider) => {
      const llm = await fake({ provider, apiKey: 'the-right-key' });
      const logs = capturingLogger();
      const err = await failure(
        createChatModel(llm.settings, SECRET, { ...fast, log: logs.log }).complete({ messages }),
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.code).toBe('llm_auth');
      expect(err.message).toContain('renderbot admin tenant ai');
      expect(llm.requests).toHaveLength(1);
      expectNoSecret(err, SECRET);
      expect(logs.text()).not.toContain(SECRET);
      llm.assertDone();
    },
  );

  it('an unknown deployment is ConfigError llm_not_found', async () => {
    const llm = await fake({ provider: 'azure' });
    const wrong = aiSettingsSchema.parse({ ...llm.settings, deployment: 'gpt-5-typo' });
    const err = await failure(createChatModel(wrong, llm.apiKey, fast).complete({ messages }));
    expect([err.code, err.fault]).toEqual(['llm_not_found', 'config']);
    expect(err.message).toContain('gpt-5-typo');
    expect(llm.requests).toHaveLength(1);
    expect(llm.failures).toHaveLength(1); // the fake flags the wrong path
  });

  it('other 4xx are PlatformError llm_rejected without retry, key redacted', async () => {
    const llm = await fake({ provider: 'openai', apiKey: SECRET });
    llm.enqueue({
      status: 422,
      body: { error: { message: `bad thing near ${SECRET}`, type: 'invalid_request_error', param: null, code: null } },
    });
    const err = await failure(createChatModel(llm.settings, llm.apiKey, fast).complete({ messages }));
    expect(err.code).toBe('llm_rejected');
    expect(err.message).toContain('HTTP 422');
    expect(err.message).not.toContain(SECRET);
    expect(llm.requests).toHaveLength(1);
  });

  it('an aborted signal stops the call and its retry wait', async () => {
    const llm = await fake({ provider: 'azure' });
    llm.enqueue({ status: 500 });
    const ctl = new AbortController();
    const pending = createChatModel(llm.settings, llm.apiKey).complete({ messages, signal: ctl.signal });
    setTimeout(() => ctl.abort(), 50);
    const err = await failure(pending);
    expect(err.code).toBe('llm_aborted');
    expect(llm.requests).toHaveLength(1);
  });

  it('parses retry-after forms', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '5', 'retry-after': '9' }), now)).toBe(5);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '1.5' }), now)).toBe(1500);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }), now)).toBe(7000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe('streaming', () => {
  it.each(['azure', 'openai'] as const)(
    '%s: text deltas arrive in order and the result equals the non-streaming one',
    async (provider) => {
      const llm = await fake({ provider });
      const text = 'Bearing 6204 has 3 render jobs: 2 done, 1 queued. ✓';
      llm.enqueue({ content: text }, { content: text });
      const model = createChatModel(llm.settings, llm.apiKey, fast);
      const plain = await model.complete({ messages, tools });
      const deltas: string[] = [];
      const streamed = await model.complete({ messages, tools, onText: (d) => deltas.push(d) });
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.join('')).toBe(text);
      expect(streamed).toEqual(plain);
      const body = llm.requests[1]?.body;
      expect(body?.stream).toBe(true);
      expect(body?.stream_options).toEqual({ include_usage: true });
      llm.assertDone();
    },
  );

  it('assembles streamed parallel tool calls by index', async () => {
    const llm = await fake({ provider: 'azure' });
    const step = {
      toolCalls: [
        { name: 'search_products', arguments: { text: 'Rillenkugellager 6204 2RS', category: 'Kugellager' } },
        { name: 'get_order', arguments: '{"number":"SA-2026-00160"}' },
      ],
    };
    llm.enqueue(step, step);
    const model = createChatModel(llm.settings, llm.apiKey, fast);
    const plain = await model.complete({ messages, tools });
    const deltas: string[] = [];
    const streamed = await model.complete({ messages, tools, onText: (d) => deltas.push(d) });
    expect(deltas).toEqual([]);
    expect(streamed.finishReason).toBe('tool_calls');
    expect(streamed.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ['search_products', { text: 'Rillenkugellager 6204 2RS', category: 'Kugellager' }],
      ['get_order', { number: 'SA-2026-00160' }],
    ]);
    expect(streamed.toolCalls.map((c) => c.id)).toEqual(['call_2_0', 'call_2_1']);
    expect({ ...streamed, toolCalls: [] }).toEqual({ ...plain, toolCalls: [] });
    llm.assertDone();
  });

  it('a stream cut before any text is retried; text is delivered once', async () => {
    const llm = await fake({ provider: 'azure' });
    llm.enqueue({ content: 'complete answer', cutAfterChunks: 2 }, { content: 'complete answer' });
    const deltas: string[] = [];
    const result = await createChatModel(llm.settings, llm.apiKey, fast).complete({
      messages,
      onText: (d) => deltas.push(d),
    });
    expect(deltas.join('')).toBe('complete answer');
    expect(result.content).toBe('complete answer');
    expect(llm.requests).toHaveLength(2);
    llm.assertDone();
  });

  it('a stream idle longer than the timeout is cut and asked again', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({ content: 'stalled answer', chunkDelayMs: 1_000 }, { content: 'prompt answer' });
    const deltas: string[] = [];
    const result = await createChatModel(llm.settings, llm.apiKey, { ...fast, timeoutMs: 150 }).complete({
      messages,
      onText: (d) => deltas.push(d),
    });
    expect(result.content).toBe('prompt answer');
    expect(deltas.join('')).toBe('prompt answer');
    expect(llm.requests).toHaveLength(2);
  });

  it('a stream cut after text was shown is not retried (it would repeat text)', async () => {
    const llm = await fake({ provider: 'azure' });
    llm.enqueue({ content: 'partial answer that breaks', cutAfterChunks: 3 }, { content: 'unused' });
    const deltas: string[] = [];
    const err = await failure(
      createChatModel(llm.settings, llm.apiKey, fast).complete({ messages, onText: (d) => deltas.push(d) }),
    );
    expect(err.code).toBe('llm_broke_off');
    expect(deltas.length).toBeGreaterThan(0);
    expect(llm.requests).toHaveLength(1);
  });

  it('a non-streamed body cut half-way is retried', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({ content: 'x', cutAfterChunks: 0 }, { content: 'whole' });
    expect((await createChatModel(llm.settings, llm.apiKey, fast).complete({ messages })).content).toBe('whole');
    expect(llm.requests).toHaveLength(2);
  });

  it('a failing onText callback does not break the call', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({ content: 'still fine' });
    const result = await createChatModel(llm.settings, llm.apiKey, fast).complete({
      messages,
      onText: () => {
        throw new Error('ui gone');
      },
    });
    expect(result.content).toBe('still fine');
  });
});

describe('the fake server', () => {
  it('rejects unanswered tool calls with HTTP 400 and records a failure', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue({ content: 'never used' });
    const bad: ChatMessage[] = [
      ...messages,
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'get_order', arguments: '{}' } }],
      },
      { role: 'user', content: 'and?' },
    ];
    const err = await failure(createChatModel(llm.settings, llm.apiKey, fast).complete({ messages: bad }));
    expect(err.code).toBe('llm_rejected');
    expect(err.message).toContain('call_a');
    expect(llm.failures[0]).toMatch(/did not have response messages: call_a/);
    expect(() => llm.assertDone()).toThrow(/never requested/);
  });

  it('rejects tool schemas that strict mode would refuse', async () => {
    const llm = await fake({ provider: 'azure' });
    const loose: ToolSpec = {
      name: 'search',
      description: 'x',
      parameters: { type: 'object', properties: { text: { type: 'string' } }, additionalProperties: false },
    };
    const err = await failure(createChatModel(llm.settings, llm.apiKey, fast).complete({ messages, tools: [loose] }));
    expect(err.code).toBe('llm_rejected');
    expect(llm.failures[0]).toMatch(/'required' is required .* Missing 'text'/);
  });

  it('rejects an answer bound that is not a positive integer', async () => {
    const llm = await fake({ provider: 'openai' });
    const send = (body: Record<string, unknown>) =>
      fetch(`${llm.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${llm.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages, ...body }),
      });
    expect((await send({ max_tokens: '4096' })).status).toBe(400);
    expect((await send({ max_completion_tokens: 0 })).status).toBe(400);
    expect(llm.failures).toEqual([
      "request #1: Invalid type for 'max_tokens': expected an integer, but got string instead.",
      "request #2: Invalid 'max_completion_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
    ]);
  });

  it('answers unexpected requests with 500 and reports them', async () => {
    const llm = await fake({ provider: 'azure' });
    const err = await failure(
      createChatModel(llm.settings, llm.apiKey, { ...fast, maxAttempts: 1 }).complete({ messages }),
    );
    expect(err.code).toBe('llm_unavailable');
    expect(() => llm.assertDone()).toThrow(/no scripted step left/);
  });

  it('records a throwing step function as a failure', async () => {
    const llm = await fake({ provider: 'openai' });
    llm.enqueue(() => {
      throw new Error('expected a tool result');
    });
    await failure(createChatModel(llm.settings, llm.apiKey, { ...fast, maxAttempts: 1 }).complete({ messages }));
    expect(() => llm.assertDone()).toThrow(/expected a tool result/);
  });
});
