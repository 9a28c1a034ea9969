import { setTimeout as delay } from 'node:timers/promises';
import { APIError, AzureOpenAI, OpenAI } from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { PlatformError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { answerLimit, type AnswerLimit } from './answer-limit.ts';
import type { ChatMessage, ChatModel, ChatRequest, ChatResult, ChatUsage, ToolSpec } from './messages.ts';
import { decideOnFailure, defaultRetryPolicy, parseRetryAfterMs, LlmIncompleteResponseError, LlmRateLimitedError, LlmTimeoutError, unavailableError, type RetryPolicy } from './retry.ts';
import type { AiSettings } from './settings.ts';
import { StreamAccumulator } from './stream.ts';

export type { ChatMessage, ChatModel, ChatRequest, ChatResult, ChatToolCall, ChatUsage, JsonSchemaObject, ToolSpec, WireToolCall } from './messages.ts';
export { chatMessageSchema, toAssistantMessage } from './messages.ts';

/** Tuning for `createChatModel`; all optional. */
export type ChatModelOptions = {
  /** Per attempt: total time for a plain call, idle time between chunks when streaming. Default 60 000. */
  timeoutMs?: number;
  /** Attempts including the first. Default 4. */
  maxAttempts?: number;
  /** First backoff step for 5xx/timeouts/connection errors (doubles, with jitter). Default 250. */
  baseDelayMs?: number;
  /** Longest retry-after we wait for; longer requests fail fast with `llm_rate_limited`. Default 30 000. */
  maxRetryAfterMs?: number;
  /** Retries are logged at warn, final failures at warn/error; no prompt content is logged. */
  log?: Logger;
  /** Waits between attempts (default: a real timer that stops when `signal` aborts). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

type Provider = { client: OpenAI; model: string; target: string; limit: AnswerLimit };

/**
 * A ChatModel for one tenant's settings and decrypted key (AzureOpenAI or OpenAI-compatible).
 * The SDK's own retries are off; this module's policy applies instead:
 * 429 waits `retry-after-ms` / `retry-after` (fails fast with PlatformError `llm_rate_limited`
 * if that exceeds `maxRetryAfterMs`), 5xx / 408 / 409 / timeouts / connection errors back off
 * exponentially with jitter, and after `maxAttempts` the call fails with PlatformError
 * `llm_unavailable`. Final, unretried faults: Azure content filter → PlatformError
 * `llm_content_filter`; 401/403 → ConfigError `llm_auth`; 404 → ConfigError `llm_not_found`;
 * 429 `insufficient_quota` → ConfigError `llm_quota`; other 4xx → PlatformError `llm_rejected`;
 * caller abort → PlatformError `llm_aborted`. Error messages never contain the API key.
 * A streamed call that fails after text was already passed to `onText` is not retried.
 */
export function createChatModel(settings: AiSettings, apiKey: string, opts: ChatModelOptions = {}): ChatModel {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const policy: RetryPolicy = {
    ...defaultRetryPolicy,
    maxAttempts: Math.max(1, opts.maxAttempts ?? defaultRetryPolicy.maxAttempts),
    baseDelayMs: opts.baseDelayMs ?? defaultRetryPolicy.baseDelayMs,
    maxRetryAfterMs: opts.maxRetryAfterMs ?? defaultRetryPolicy.maxRetryAfterMs,
  };
  const sleep = opts.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {}));
  const provider = createProvider(settings, apiKey, timeoutMs);
  const log = opts.log;

  return {
    async complete(req: ChatRequest): Promise<ChatResult> {
      const body = buildBody(provider, req.messages, req.tools, req.maxTokens);
      for (let attempt = 1; ; attempt++) {
        if (req.signal?.aborted) throw aborted(req.signal.reason);
        const started = Date.now();
        const acc = req.onText ? new StreamAccumulator(safeOnText(req.onText, log)) : undefined;
        try {
          const result = acc ? await streamAttempt(provider, body, acc, req.signal, timeoutMs) : await plainAttempt(provider, body, req.signal, timeoutMs);
          log?.debug({ provider: settings.provider, attempt, ms: Date.now() - started, usage: result.usage, finishReason: result.finishReason }, 'llm call done');
          return result;
        } catch (err) {
          if (req.signal?.aborted) throw aborted(err);
          if (req.rateLimits === 'throw' && err instanceof APIError && err.status === 429 && err.code !== 'insufficient_quota') {
            throw new LlmRateLimitedError(parseRetryAfterMs(err.headers, Date.now()), err);
          }
          const decision = decideOnFailure(err, { policy, attempt, apiKey, target: provider.target });
          if (!decision.retry) {
            log?.warn({ provider: settings.provider, attempt, code: decision.error.code, err }, 'llm call failed');
            throw decision.error;
          }
          if (acc?.emitted || attempt >= policy.maxAttempts) {
            log?.error({ provider: settings.provider, attempt, reason: decision.reason, err }, 'llm call failed, giving up');
            throw unavailableError(err);
          }
          log?.warn({ provider: settings.provider, attempt, reason: decision.reason, status: decision.status, delayMs: decision.delayMs }, 'llm call failed, retrying');
          try {
            await sleep(decision.delayMs, req.signal);
          } catch (sleepErr) {
            throw aborted(sleepErr);
          }
        }
      }
    },
  };
}

function createProvider(settings: AiSettings, apiKey: string, timeoutMs: number): Provider {
  // Explicit nulls keep OPENAI_* environment variables of the host from leaking into tenant calls.
  const common = { apiKey, maxRetries: 0, timeout: timeoutMs, organization: null, project: null, logLevel: 'off' as const };
  if (settings.provider === 'azure') {
    const baseURL = `${settings.endpoint.replace(/\/+$/, '')}/openai`;
    const client = new AzureOpenAI({ ...common, baseURL, deployment: settings.deployment, apiVersion: settings.apiVersion });
    return { client, model: settings.deployment, target: `deployment "${settings.deployment}"`, limit: answerLimit(settings) };
  }
  const client = new OpenAI({ ...common, adminAPIKey: null, baseURL: settings.baseUrl.replace(/\/+$/, '') });
  return { client, model: settings.model, target: `model "${settings.model}"`, limit: answerLimit(settings) };
}

type Body = ChatCompletionCreateParamsNonStreaming;

/** The request: the provider's model, the messages, the answer's token bound (lowered to `maxTokens`) and, when given, the tools. */
function buildBody(p: Provider, messages: ChatMessage[], tools: ToolSpec[] | undefined, maxTokens?: number): Body {
  const limit = maxTokens === undefined ? p.limit : 'max_tokens' in p.limit
    ? { max_tokens: Math.min(maxTokens, p.limit.max_tokens) } : { max_completion_tokens: Math.min(maxTokens, p.limit.max_completion_tokens) };
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
        ? { role: 'assistant', content: m.content, tool_calls: m.tool_calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.function.name, arguments: c.function.arguments } })) }
        : { role: 'assistant', content: m.content ?? '' };
  }
}

/** One attempt with its own time budget; `touch` restarts the budget (idle timeout for streams). */
async function withAttemptTimeout<T>(signal: AbortSignal | undefined, timeoutMs: number, run: (signal: AbortSignal, touch: () => void) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      ctl.abort(new LlmTimeoutError(timeoutMs));
    }, timeoutMs);
  };
  touch();
  try {
    return await run(signal ? AbortSignal.any([signal, ctl.signal]) : ctl.signal, touch);
  } catch (err) {
    ctl.abort();
    throw timedOut ? new LlmTimeoutError(timeoutMs) : err;
  } finally {
    clearTimeout(timer);
  }
}

async function plainAttempt(p: Provider, body: Body, signal: AbortSignal | undefined, timeoutMs: number): Promise<ChatResult> {
  const res = await withAttemptTimeout(signal, timeoutMs, (s) => p.client.chat.completions.create(body, { signal: s }));
  const choice = res.choices[0];
  if (!choice) throw new LlmIncompleteResponseError('The AI response had no choices.');
  const toolCalls = (choice.message.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : []));
  const content = choice.message.content || choice.message.refusal || null;
  const usage = res.usage ? { promptTokens: res.usage.prompt_tokens, completionTokens: res.usage.completion_tokens } : estimateUsage(body, content, toolCalls);
  return { content, toolCalls, usage, finishReason: choice.finish_reason ?? 'stop' };
}

async function streamAttempt(p: Provider, body: Body, acc: StreamAccumulator, signal: AbortSignal | undefined, timeoutMs: number): Promise<ChatResult> {
  await withAttemptTimeout(signal, timeoutMs, async (s, touch) => {
    const stream = await p.client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, { signal: s });
    for await (const chunk of stream) {
      touch();
      acc.push(chunk);
    }
  });
  const totals = acc.totals();
  return { ...totals, usage: totals.usage ?? estimateUsage(body, totals.content, totals.toolCalls) };
}

/** Fallback when a compatible server reports no usage: ≈ 4 characters per token. */
function estimateUsage(body: Body, content: string | null, toolCalls: { name: string; arguments: string }[]): ChatUsage {
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
