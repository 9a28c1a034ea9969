import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AiSettings } from '../../core/llm/settings.ts';
import { checkChatBody } from './llm-validate.ts';
import {
  completionJson,
  contentFilterBody,
  errorBody,
  maskKey,
  streamChunks,
  type FakeProvider,
  type WireReply,
} from './llm-wire.ts';

/** How to start the fake; unset fields get test defaults (gpt-4o, 2024-10-21, gpt-4o-mini, test-key). */
export type FakeLlmOptions =
  | { provider: 'azure'; deployment?: string; apiVersion?: string; apiKey?: string }
  | { provider: 'openai'; model?: string; apiKey?: string };

/** A tool call the model should make; a string `arguments` is sent as is (e.g. malformed JSON). */
type FakeToolCall = { name: string; arguments: object | string; id?: string };

/** A successful answer: text and/or tool calls. Usage defaults to ≈ JSON length / 4. */
export type FakeReply = {
  content?: string;
  toolCalls?: FakeToolCall[];
  usage?: { promptTokens?: number; completionTokens?: number };
  /** Default: 'tool_calls' when there are tool calls, else 'stop'. */
  finishReason?: string;
  /** Wait before answering (e.g. longer than the client timeout). */
  delayMs?: number;
  /** Streamed answers: wait this long between SSE chunks, as a model writing text does. */
  chunkDelayMs?: number;
  /** Drop the connection mid-answer: after this many SSE chunks, or half-way through the JSON body. */
  cutAfterChunks?: number;
  /** Streamed answers: send this many SSE chunks, then nothing more while the connection stays open (a stalled stream). */
  stallAfterChunks?: number;
};

/** One scripted response, consumed by exactly one HTTP request. */
export type FakeStep =
  | FakeReply
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { hang: true }
  | { contentFilter: true }
  | { disconnect: true }
  | ((req: FakeLlmRequest) => FakeStep | Promise<FakeStep>);

/** The request body as received (fields are only guaranteed when the request was valid). */
type FakeChatBody = {
  model?: string;
  messages: Record<string, unknown>[];
  tools?: {
    type: string;
    function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
  }[];
  tool_choice?: unknown;
  parallel_tool_calls?: boolean;
  max_tokens?: number;
  max_completion_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [key: string]: unknown;
};

/** A request the fake received. */
export type FakeLlmRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: FakeChatBody;
};

/** A running fake; see `startFakeLlm`. */
export type FakeLlm = {
  /** Settings pointing at the fake, valid for `aiSettingsSchema` and `createChatModel`. */
  readonly settings: AiSettings;
  readonly apiKey: string;
  /** Base URL of the server, e.g. http://127.0.0.1:54321. */
  readonly url: string;
  /** Every request received, in order, including rejected ones. */
  readonly requests: FakeLlmRequest[];
  /** Problems found: shape violations, unexpected requests, throwing step functions. */
  readonly failures: string[];
  /** Scripted steps not yet consumed. */
  readonly pending: number;
  /** Appends steps; each later request consumes the next one. */
  enqueue(...steps: FakeStep[]): void;
  /** Drops the scripted steps not yet consumed (a test that scripted more than its requests needed); returns how many. */
  discardPending(): number;
  /** Throws if steps remain unused or any failure was recorded. */
  assertDone(): void;
  /** Requests held by `{ hang: true }` or stalled (`stallAfterChunks`) whose connection the client closed (an aborted request), in order: request number and when (performance.now()). */
  readonly clientClosed: readonly { request: number; at: number }[];
  /** Resolves when the client has closed `count` held requests in all (default: one more than now). */
  whenClientClosed(count?: number): Promise<void>;
  /** Stops the server, cutting hanging requests. */
  close(): Promise<void>;
};

/**
 * Starts a scripted OpenAI/Azure-compatible Chat Completions server on 127.0.0.1 (docs/design.md §11).
 * It checks each request like the real service: Azure path
 * `/openai/deployments/{deployment}/chat/completions`, `api-version` and `api-key` header; OpenAI
 * path `/v1/chat/completions`, `Authorization: Bearer`, `model`. A wrong key gets the provider's
 * 401 (not a failure: tests may want that); a wrong path/version/model gets 404, an invalid body
 * (e.g. unanswered tool calls, non-strict tool schemas) 400, a request with no step left 500 —
 * all recorded as failures. `stream: true` is answered as SSE chunks.
 */
export async function startFakeLlm(opts: FakeLlmOptions): Promise<FakeLlm> {
  const apiKey = opts.apiKey ?? 'test-key';
  const provider: FakeProvider = opts.provider;
  const model = opts.provider === 'azure' ? (opts.deployment ?? 'gpt-4o') : (opts.model ?? 'gpt-4o-mini');
  const apiVersion = opts.provider === 'azure' ? (opts.apiVersion ?? '2024-10-21') : '';
  const steps: FakeStep[] = [];
  const requests: FakeLlmRequest[] = [];
  const failures: string[] = [];
  const hanging = new Set<ServerResponse>();
  const clientClosed: { request: number; at: number }[] = [];
  const closeWaiters = new Set<{ count: number; resolve: () => void }>();
  let shuttingDown = false;
  let seq = 0;
  const seqOf = new WeakMap<ServerResponse, number>();

  /** Keeps a request open until the client closes it (recorded in `clientClosed`) or the fake stops. */
  const holdOpen = (res: ServerResponse) => {
    hanging.add(res);
    res.on('close', () => {
      hanging.delete(res);
      // The client gave up on the request (an AbortSignal through the openai client closes the connection).
      if (shuttingDown) return;
      clientClosed.push({ request: seqOf.get(res) ?? 0, at: performance.now() });
      for (const w of closeWaiters)
        if (clientClosed.length >= w.count) {
          closeWaiters.delete(w);
          w.resolve();
        }
    });
  };
  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-request-id': `req_fake_${seqOf.get(res)}`,
      ...headers,
    });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, problem: string, body?: unknown) => {
    failures.push(`request #${seqOf.get(res)}: ${problem}`);
    sendJson(res, status, body ?? errorBody(provider, status, problem));
  };

  /** Route and auth; returns true when the response was already sent. */
  const rejectRoute = (req: FakeLlmRequest, res: ServerResponse): boolean => {
    const expectedPath =
      provider === 'azure' ? `/openai/deployments/${model}/chat/completions` : '/v1/chat/completions';
    if (req.method !== 'POST' || req.path !== expectedPath) {
      fail(res, 404, `unexpected ${req.method} ${req.path} (expected POST ${expectedPath})`);
      return true;
    }
    const presented =
      provider === 'azure' ? req.headers['api-key'] : /^Bearer (.*)$/.exec(req.headers.authorization ?? '')?.[1];
    if (presented !== apiKey) {
      const message =
        provider === 'openai'
          ? `Incorrect API key provided: ${maskKey(String(presented ?? ''))}. You can find your API key at https://platform.openai.com/account/api-keys.`
          : undefined;
      sendJson(res, 401, errorBody(provider, 401, message));
      return true;
    }
    if (provider === 'azure' && req.query['api-version'] !== apiVersion) {
      fail(res, 404, `api-version ${JSON.stringify(req.query['api-version'])} (expected ${apiVersion})`);
      return true;
    }
    if (provider === 'openai' && req.body.model !== model) {
      fail(
        res,
        404,
        `model ${JSON.stringify(req.body.model)} (expected ${model})`,
        errorBody(
          provider,
          404,
          `The model \`${String(req.body.model)}\` does not exist or you do not have access to it.`,
        ),
      );
      return true;
    }
    return false;
  };

  const reply = async (req: FakeLlmRequest, res: ServerResponse, step: FakeReply) => {
    const n = seqOf.get(res) ?? 0;
    if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
    const toolCalls = (step.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_${n}_${i}`,
      name: c.name,
      arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
    }));
    const content = step.content ?? null;
    const completionChars =
      (content?.length ?? 0) + toolCalls.reduce((n, c) => n + c.name.length + c.arguments.length, 0);
    const wire: WireReply = {
      content,
      toolCalls,
      finishReason: step.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      usage: {
        promptTokens:
          step.usage?.promptTokens ??
          Math.ceil(JSON.stringify({ messages: req.body.messages, tools: req.body.tools ?? [] }).length / 4),
        completionTokens: step.usage?.completionTokens ?? Math.max(1, Math.ceil(completionChars / 4)),
      },
    };
    const meta = { provider, id: `chatcmpl-fake-${n}`, model, created: 1_767_225_600 + n };
    if (req.body.stream !== true) {
      if (step.cutAfterChunks === undefined) return sendJson(res, 200, completionJson(meta, wire));
      const json = JSON.stringify(completionJson(meta, wire));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)) });
      res.write(json.slice(0, json.length >> 1), () => res.destroy());
      return;
    }
    if (res.destroyed) return;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': `req_fake_${n}`,
    });
    for (const [i, chunk] of streamChunks(meta, wire, req.body.stream_options?.include_usage === true).entries()) {
      if (res.destroyed) return;
      if (i === step.cutAfterChunks) return void res.destroy();
      if (i === step.stallAfterChunks) return holdOpen(res);
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      // Separate writes, so clients parse across reads.
      await new Promise((r) => (step.chunkDelayMs ? setTimeout(r, step.chunkDelayMs) : setImmediate(r)));
    }
    res.end('data: [DONE]\n\n');
  };

  const run = async (req: FakeLlmRequest, res: ServerResponse, step: FakeStep): Promise<void> => {
    if (typeof step === 'function') {
      let next: FakeStep;
      try {
        next = await step(req);
      } catch (err) {
        return fail(res, 500, `step function threw: ${err instanceof Error ? err.message : String(err)}`);
      }
      return run(req, res, next);
    }
    if ('hang' in step) return holdOpen(res);
    if ('disconnect' in step) {
      res.socket?.destroy();
      return;
    }
    if ('contentFilter' in step) return sendJson(res, 400, contentFilterBody());
    if ('status' in step)
      return sendJson(res, step.status, step.body ?? errorBody(provider, step.status), step.headers);
    return reply(req, res, step);
  };

  const handle = async (raw: IncomingMessage, res: ServerResponse) => {
    seq += 1;
    seqOf.set(res, seq);
    const chunks: Buffer[] = [];
    for await (const c of raw) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(raw.url ?? '/', 'http://fake');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    const req: FakeLlmRequest = {
      method: raw.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: raw.headers,
      body: parsed as FakeChatBody,
    };
    requests.push(req);
    if (typeof parsed !== 'object' || parsed === null) return fail(res, 400, 'body is not JSON');
    if (rejectRoute(req, res)) return;
    const problem = checkChatBody(parsed);
    if (problem)
      return fail(res, 400, problem, {
        error: { message: problem, type: 'invalid_request_error', param: null, code: null },
      });
    const step = steps.shift();
    if (!step) return fail(res, 500, `unexpected request: no scripted step left (fake LLM)`);
    await run(req, res, step);
  };

  const server = createServer((raw, res) => {
    handle(raw, res).catch((err: unknown) =>
      fail(res, 500, `fake LLM crashed: ${err instanceof Error ? err.stack : String(err)}`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const settings: AiSettings =
    provider === 'azure'
      ? { provider: 'azure', endpoint: url, deployment: model, apiVersion }
      : { provider: 'openai', baseUrl: `${url}/v1`, model };

  return {
    settings,
    apiKey,
    url,
    requests,
    failures,
    get pending() {
      return steps.length;
    },
    enqueue(...more) {
      steps.push(...more);
    },
    clientClosed,
    whenClientClosed(count = clientClosed.length + 1) {
      if (clientClosed.length >= count) return Promise.resolve();
      return new Promise<void>((resolve) => {
        closeWaiters.add({ count, resolve });
      });
    },
    discardPending() {
      return steps.splice(0).length;
    },
    assertDone() {
      const problems = [...failures];
      if (steps.length > 0) problems.push(`${steps.length} scripted step(s) were never requested`);
      if (problems.length > 0) throw new Error(`fake LLM: ${problems.join('; ')}`);
    },
    async close() {
      shuttingDown = true;
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/**
 * A step that answers "answer to <the request's last user message>" (a Slack mention's `<@BOT>`
 * removed) after `delayMs`: lets a test or bench match each answer to what was asked.
 */
export const echoStep =
  (delayMs = 0) =>
  (req: FakeLlmRequest): FakeStep => ({
    ...(delayMs ? { delayMs } : {}),
    content: `answer to ${String([...req.body.messages].reverse().find((m) => m.role === 'user')?.content).replace(/^<@\w+>\s*/, '')}`,
  });
