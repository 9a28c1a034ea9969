import { APIError, AzureOpenAI, OpenAI, type ClientOptions } from 'openai';
import { z } from 'zod';
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { PlatformError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { outputLimit, type OutputLimit } from './output-limit.ts';
import type { ChatMessage, ChatModel, ChatRequest, ChatResult, ChatUsage, ToolSpec } from './messages.ts';
import {
  addUsage,
  brokeOff,
  brokeOffError,
  classifyFailure,
  finalRateLimits,
  parseRetryAfterMs,
  withBilledUsage,
  LlmIncompleteResponseError,
  LlmRateLimitedError,
  LlmTimeoutError,
  type RateLimitMode,
} from './retry.ts';
import type { AiSettings } from './settings.ts';
import { StreamAccumulator } from './stream.ts';

export type { ChatMessage, ChatModel, ChatResult, ChatUsage, ToolSpec } from './messages.ts';
export { toAssistantMessage } from './messages.ts';

/** Longest retry-after the `openai` client waits for; it backs off by itself beyond that. */
const SDK_MAX_RETRY_AFTER_MS = 60_000;

/** Tuning for `createChatModel`; all optional. */
export type ChatModelOptions = {
  /** Per request: total time for a plain call; for a streamed one, time to the response and then between chunks. Default 60 000. */
  timeoutMs?: number;
  /** Requests per call including the first (the client's retries plus one). Default 4. */
  maxAttempts?: number;
  /** Longest retry-after waited for (at most 60 000); longer requests fail fast with `llm_rate_limited`. Default 30 000. */
  maxRetryAfterMs?: number;
  /** Retries are logged at warn, final failures at warn/error; no prompt content is logged. */
  log?: Logger;
};

type Provider = { clients: Record<RateLimitMode, OpenAI>; model: string; target: string; limit: OutputLimit };

/**
 * A ChatModel for one tenant's settings and decrypted key (AzureOpenAI or OpenAI-compatible).
 * Retries are the `openai` client's own (see core/llm/retry.ts): 429 waits `retry-after-ms` /
 * `retry-after` (fails fast with PlatformError `llm_rate_limited` if that exceeds
 * `maxRetryAfterMs`), 5xx / 408 / 409 / timeouts / connection errors back off with jitter, and
 * after `maxAttempts` requests the call fails with PlatformError `llm_unavailable`. A stream that
 * breaks off after its response began, or a 200 that is no usable chat completion (an error body,
 * not JSON, no choices), is asked again (up to `maxAttempts` times) unless text was already passed
 * to `onText` — then it fails with PlatformError `llm_broke_off`; a 200 unusable every time ends in
 * PlatformError `llm_unusable`. Tokens that failed attempts reported are added to the result's
 * usage, or recorded on the final error (`billedUsage`). Final, unretried faults: Azure content filter → PlatformError
 * `llm_content_filter`; 401/403 → ConfigError `llm_auth`; 404 → ConfigError `llm_not_found`;
 * 429 `insufficient_quota` → ConfigError `llm_quota`; other 4xx → PlatformError `llm_rejected`;
 * caller abort → PlatformError `llm_aborted`. Error messages never contain the API key.
 */
export function createChatModel(settings: AiSettings, apiKey: string, opts: ChatModelOptions = {}): ChatModel {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
  const maxRetryAfterMs = Math.min(opts.maxRetryAfterMs ?? 30_000, SDK_MAX_RETRY_AFTER_MS);
  const log = opts.log;
  const provider = createProvider(settings, apiKey, { timeoutMs, maxRetries: maxAttempts - 1, maxRetryAfterMs, log });
  const failure = { apiKey, target: provider.target, maxRetryAfterMs };

  return {
    async complete(req: ChatRequest): Promise<ChatResult> {
      const client = provider.clients[req.rateLimits ?? 'retry'];
      const body = buildBody(provider, req.messages, req.tools, req.maxTokens);
      // Tokens of failed attempts whose response said what they cost: counted with the call's outcome.
      let billed: ChatUsage | undefined;
      for (let attempt = 1; ; attempt++) {
        if (req.signal?.aborted) throw withBilledUsage(aborted(req.signal.reason), billed);
        const started = Date.now();
        const acc = req.onText ? new StreamAccumulator(safeOnText(req.onText, log)) : undefined;
        try {
          const result = acc
            ? await streamAttempt(client, body, acc, req.signal, timeoutMs)
            : await plainAttempt(client, body, req.signal);
          log?.debug(
            {
              provider: settings.provider,
              attempt,
              ms: Date.now() - started,
              usage: result.usage,
              finishReason: result.finishReason,
            },
            'llm call done',
          );
          return billed ? { ...result, usage: addUsage(billed, result.usage)! } : result;
        } catch (err) {
          if (err instanceof LlmIncompleteResponseError) billed = addUsage(billed, err.usage);
          if (req.signal?.aborted) throw withBilledUsage(aborted(err), billed);
          if (req.rateLimits === 'throw' && isRateLimit(err))
            throw withBilledUsage(new LlmRateLimitedError(parseRetryAfterMs(err.headers), err), billed);
          if (brokeOff(err) && !acc?.emitted && attempt < maxAttempts) {
            log?.warn({ provider: settings.provider, attempt, err }, 'llm answer broke off, asking again');
            continue;
          }
          // Part of the response was shown: asking again would show it twice.
          const error = brokeOff(err) && acc?.emitted ? brokeOffError(err) : classifyFailure(err, failure);
          const level = error.code === 'llm_unavailable' ? 'error' : 'warn';
          log?.[level]({ provider: settings.provider, attempt, code: error.code, err }, 'llm call failed');
          throw withBilledUsage(error, billed);
        }
      }
    },
  };
}

/** A 429 that is not a used-up quota. */
function isRateLimit(err: unknown): err is APIError {
  return err instanceof APIError && err.status === 429 && err.code !== 'insufficient_quota';
}

type ClientTuning = { timeoutMs: number; maxRetries: number; maxRetryAfterMs: number; log: Logger | undefined };

/** The provider's clients: one that waits out short rate limits, one that hands every 429 to the caller. */
function createProvider(settings: AiSettings, apiKey: string, t: ClientTuning): Provider {
  // Explicit nulls keep OPENAI_* environment variables of the host from leaking into tenant calls.
  const common = {
    apiKey,
    maxRetries: t.maxRetries,
    timeout: t.timeoutMs,
    organization: null,
    project: null,
    ...sdkLogging(t.log),
  };
  const modes: RateLimitMode[] = ['retry', 'throw'];
  const each = (make: (fetch: typeof globalThis.fetch) => OpenAI) =>
    Object.fromEntries(modes.map((mode) => [mode, make(finalRateLimits(mode, t.maxRetryAfterMs))])) as Record<
      RateLimitMode,
      OpenAI
    >;
  if (settings.provider === 'azure') {
    const baseURL = `${settings.endpoint.replace(/\/+$/, '')}/openai`;
    const clients = each(
      (fetch) =>
        new AzureOpenAI({
          ...common,
          fetch,
          baseURL,
          deployment: settings.deployment,
          apiVersion: settings.apiVersion,
        }),
    );
    return {
      clients,
      model: settings.deployment,
      target: `deployment "${settings.deployment}"`,
      limit: outputLimit(settings),
    };
  }
  const baseURL = settings.baseUrl.replace(/\/+$/, '');
  const clients = each((fetch) => new OpenAI({ ...common, fetch, adminAPIKey: null, baseURL }));
  return { clients, model: settings.model, target: `model "${settings.model}"`, limit: outputLimit(settings) };
}

/**
 * The client's request log, at info: each response and whether it is retried. Its retry lines
 * go to `log` at warn, the rest at debug; its debug details (headers, bodies) are not asked for.
 */
function sdkLogging(log: Logger | undefined): Pick<ClientOptions, 'logLevel' | 'logger'> {
  if (!log) return { logLevel: 'off' };
  const line = (message: string) =>
    / - retrying\b/.test(message)
      ? log.warn({ sdk: message }, 'llm request failed, retrying')
      : log.debug({ sdk: message }, 'llm request');
  return {
    logLevel: 'info',
    logger: {
      error: (m: string) => log.error({ sdk: m }, 'llm client'),
      warn: (m: string) => log.warn({ sdk: m }, 'llm client'),
      info: line,
      debug: () => {},
    },
  };
}

type Body = ChatCompletionCreateParamsNonStreaming;

/** The request: the provider's model, the messages, the response's token bound (lowered to `maxTokens`) and, when given, the tools. */
function buildBody(p: Provider, messages: ChatMessage[], tools: ToolSpec[] | undefined, maxTokens?: number): Body {
  const limit =
    maxTokens === undefined
      ? p.limit
      : 'max_tokens' in p.limit
        ? { max_tokens: Math.min(maxTokens, p.limit.max_tokens) }
        : { max_completion_tokens: Math.min(maxTokens, p.limit.max_completion_tokens) };
  const body: Body = { model: p.model, messages: messages.map(toWire), ...limit };
  if (tools && tools.length > 0) {
    // parallel_tool_calls / tool_choice are only accepted together with tools.
    body.tools = tools.map((t): ChatCompletionTool => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.parameters, strict: true },
    }));
    body.tool_choice = 'auto';
    body.parallel_tool_calls = true;
  }
  return body;
}

/** Copies only wire fields, so extra properties on history objects never reach the provider. */
function toWire(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'tool':
      return { role: 'tool', tool_call_id: m.tool_call_id, content: m.content };
    case 'assistant':
      return m.tool_calls && m.tool_calls.length > 0
        ? {
            role: 'assistant',
            content: m.content,
            tool_calls: m.tool_calls.map((c) => ({
              id: c.id,
              type: 'function',
              function: { name: c.function.name, arguments: c.function.arguments },
            })),
          }
        : { role: 'assistant', content: m.content ?? '' };
  }
}

/**
 * The parts of a 200 response a plain call uses, checked: a compatible server may answer 200 with
 * an error object, an HTML page or a half-filled completion. Fields not listed pass through.
 */
const completionSchema = z.object({
  choices: z.array(
    z.object({
      index: z.number().optional(),
      message: z.object({
        content: z.string().nullish(),
        refusal: z.string().nullish(),
        tool_calls: z
          .array(
            z.object({
              id: z.string(),
              type: z.string(),
              function: z.object({ name: z.string(), arguments: z.string() }).optional(),
            }),
          )
          .nullish(),
      }),
      finish_reason: z.string().nullish(),
    }),
  ),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).nullish(),
});

/** The reported usage of a 200 body that may be anything. */
const reportedUsageSchema = z.object({ usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }) });

async function plainAttempt(client: OpenAI, body: Body, signal: AbortSignal | undefined): Promise<ChatResult> {
  const raw: unknown = await client.chat.completions.create(body, signal ? { signal } : {});
  const parsed = completionSchema.safeParse(raw);
  const reported = reportedUsageSchema.safeParse(raw);
  const usage = reported.success
    ? { promptTokens: reported.data.usage.prompt_tokens, completionTokens: reported.data.usage.completion_tokens }
    : undefined;
  if (!parsed.success) throw new LlmIncompleteResponseError('The AI response was not a chat completion.', usage);
  const choice = parsed.data.choices.find((c) => (c.index ?? 0) === 0);
  if (!choice) throw new LlmIncompleteResponseError('The AI response had no choices.', usage);
  const toolCalls = (choice.message.tool_calls ?? []).flatMap((c) =>
    c.type === 'function' && c.function ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
  );
  const content = choice.message.content || choice.message.refusal || null;
  return {
    content,
    toolCalls,
    usage: usage ?? estimateUsage(body, content, toolCalls),
    finishReason: choice.finish_reason ?? 'stop',
  };
}

/**
 * A streamed call. The client's timeout ends when the response starts; from then on each chunk
 * must come within `timeoutMs` (idle timeout), else the stream is cut with LlmTimeoutError. A
 * response longer than MAX_OUTPUT_CHARS is not read further: it ends at 'length' (usage estimated).
 */
async function streamAttempt(
  client: OpenAI,
  body: Body,
  acc: StreamAccumulator,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<ChatResult> {
  const stream = await client.chat.completions.create(
    { ...body, stream: true, stream_options: { include_usage: true } },
    signal ? { signal } : {},
  );
  let idle = false;
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      stream.controller.abort();
    }, timeoutMs);
  };
  touch();
  try {
    for await (const chunk of stream) {
      touch();
      acc.push(chunk);
      // A provider ignoring the token bound: stop reading (breaking out aborts the request).
      if (acc.overflowed) break;
    }
  } catch (err) {
    throw idle ? new LlmTimeoutError(timeoutMs) : err;
  } finally {
    clearTimeout(timer);
  }
  const totals = acc.totals();
  return { ...totals, usage: totals.usage ?? estimateUsage(body, totals.content, totals.toolCalls) };
}

/** Fallback when a compatible server reports no usage: ≈ 4 characters per token. */
function estimateUsage(
  body: Body,
  content: string | null,
  toolCalls: { name: string; arguments: string }[],
): ChatUsage {
  const prompt = JSON.stringify({ messages: body.messages, tools: body.tools ?? [] }).length;
  const completion = (content?.length ?? 0) + toolCalls.reduce((n, c) => n + c.name.length + c.arguments.length, 0);
  return { promptTokens: Math.ceil(prompt / 4), completionTokens: Math.ceil(completion / 4) };
}

function safeOnText(onText: (delta: string) => void, log: Logger | undefined): (delta: string) => void {
  return (delta) => {
    try {
      onText(delta);
    } catch (err) {
      log?.warn({ err }, 'onText callback failed; streaming continues');
    }
  };
}

function aborted(cause: unknown): PlatformError {
  return new PlatformError('llm_aborted', 'The AI request was cancelled.', { cause });
}
