import { APIConnectionError, APIError, APIUserAbortError, OpenAIError } from 'openai';
import { ConfigError, PlatformError, RenderBotError } from '../errors.ts';
import type { ChatUsage } from './messages.ts';

/**
 * Retries are the `openai` client's own: it retries 408, 409, 429, 5xx, timeouts and connection
 * errors with backoff, waiting `retry-after-ms` / `retry-after` when the server names a wait, and
 * obeys an `x-should-retry` response header. This module adds what the client does not do:
 * which 429s it must not wait out (`finalRateLimits`), which failures after a response began are
 * worth asking again (`brokeOff`), and the RenderBot error each final failure becomes
 * (`classifyFailure`).
 */

/** Raised when a streamed answer sent nothing for longer than the idle timeout. */
export class LlmTimeoutError extends Error {
  constructor(ms: number) {
    super(`The AI service did not answer within ${ms} ms.`);
  }
}

/**
 * A 429 handed to the caller instead of being waited out (ChatRequest `rateLimits: 'throw'`), so
 * that the caller can give its concurrency slot back while it waits (docs/design.md §4).
 */
export class LlmRateLimitedError extends PlatformError {
  readonly retryAfterMs: number | undefined;
  constructor(retryAfterMs: number | undefined, cause?: unknown) {
    super('llm_rate_limited', 'The AI service is rate-limited right now; please try again in a minute.', { cause });
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Raised when a 200 response was unusable (not a chat completion, no choices, stream ended
 * early); `usage` is what it reported it cost, when it did.
 */
export class LlmIncompleteResponseError extends Error {
  readonly usage: ChatUsage | undefined;
  constructor(message: string, usage?: ChatUsage) {
    super(message);
    this.usage = usage;
  }
}

/** Facts about the call that shape error messages; `apiKey` is only used for redaction. */
export type CallFacts = { apiKey: string; target: string; maxRetryAfterMs: number; now?: number };

/**
 * How a client treats a 429: `retry` lets the SDK wait out a retry-after of at most
 * `maxRetryAfterMs`; `throw` hands every 429 to the caller at once. Quota errors are never retried.
 */
export type RateLimitMode = 'retry' | 'throw';

const ADMIN_HINT = 'ask an admin to run: renderbot admin tenant ai …';

/** The error after the last attempt failed transiently. */
function unavailableError(cause?: unknown): PlatformError {
  return new PlatformError(
    'llm_unavailable',
    'The AI service is unavailable right now, please try again in a minute.',
    { cause },
  );
}

/** The error after the last attempt answered with something that is not a usable chat completion. */
function unusableError(cause?: unknown): PlatformError {
  return new PlatformError(
    'llm_unusable',
    'The AI service answered with something unusable; please try again in a minute.',
    { cause },
  );
}

/** The error for an answer that broke off after part of it was shown (asking again would repeat that part). */
export function brokeOffError(cause?: unknown): PlatformError {
  return new PlatformError('llm_broke_off', 'The AI service stopped part-way through its answer; please ask again.', {
    cause,
  });
}

const billed = new WeakMap<object, ChatUsage>();

/** Records on a final call error the tokens its failed attempts were billed for. */
export function withBilledUsage<E extends Error>(err: E, usage: ChatUsage | undefined): E {
  if (usage) billed.set(err, usage);
  return err;
}

/** The tokens a failed model call was billed for (attempts whose response reported usage), if any. */
export function billedUsage(err: unknown): ChatUsage | undefined {
  return typeof err === 'object' && err !== null ? billed.get(err) : undefined;
}

/** The sum of two usages, either of which may be missing. */
export function addUsage(a: ChatUsage | undefined, b: ChatUsage | undefined): ChatUsage | undefined {
  if (!a || !b) return a ?? b;
  return { promptTokens: a.promptTokens + b.promptTokens, completionTokens: a.completionTokens + b.completionTokens };
}

/**
 * A fetch for the SDK client that marks the 429s it must not retry with `x-should-retry: false`,
 * which the client obeys: quota errors, waits longer than `maxRetryAfterMs`, and in `throw` mode
 * every 429. Other responses pass through untouched.
 */
export function finalRateLimits(
  mode: RateLimitMode,
  maxRetryAfterMs: number,
  inner: typeof fetch = fetch,
): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    if (res.status !== 429) return res;
    const text = await res.text();
    const asked = parseRetryAfterMs(res.headers);
    const final = mode === 'throw' || isQuotaBody(text) || (asked !== undefined && asked > maxRetryAfterMs);
    const headers = new Headers(res.headers);
    if (final) headers.set('x-should-retry', 'false');
    return new Response(text, { status: res.status, statusText: res.statusText, headers });
  };
}

/**
 * True for a failure after the response began — a body or stream cut off, a stream idle too long
 * or ending without an answer. The SDK does not retry these; asking again is safe as long as no
 * text was shown yet. Errors the SDK raises itself come after its own retries and are final.
 */
export function brokeOff(err: unknown): boolean {
  if (err instanceof LlmTimeoutError || err instanceof LlmIncompleteResponseError) return true;
  // Undici reports sockets closed mid-body as plain TypeErrors ("terminated").
  return !(err instanceof OpenAIError) && !(err instanceof RenderBotError);
}

/** The RenderBotError for a call that failed for good (messages never hold the key). */
export function classifyFailure(err: unknown, ctx: CallFacts): RenderBotError {
  if (err instanceof RenderBotError) return err;
  if (err instanceof APIUserAbortError)
    return new PlatformError('llm_aborted', 'The AI request was cancelled.', { cause: err });
  // A 200 whose body is not JSON fails to parse (SyntaxError) inside the client.
  if (err instanceof LlmIncompleteResponseError || err instanceof SyntaxError) return unusableError(err);
  if (err instanceof APIConnectionError || !(err instanceof APIError) || typeof err.status !== 'number')
    return unavailableError(err);
  const status = err.status;
  if (status === 429) {
    if (err.code === 'insufficient_quota') {
      return new ConfigError(
        'llm_quota',
        "The tenant's AI account has no quota left; ask an admin to check the AI provider's billing and limits.",
        { cause: err },
      );
    }
    const asked = parseRetryAfterMs(err.headers, ctx.now ?? Date.now());
    if (asked !== undefined && asked > ctx.maxRetryAfterMs) {
      const seconds = Math.ceil(asked / 1000);
      return new PlatformError(
        'llm_rate_limited',
        `The AI service is rate-limited for about ${seconds} s; please try again later.`,
        { cause: err },
      );
    }
    return unavailableError(err);
  }
  if (status === 400 && isContentFilter(err)) {
    return new PlatformError(
      'llm_content_filter',
      "The AI service's content filter declined this request. Please rephrase your message and try again.",
      { cause: err },
    );
  }
  if (status === 401 || status === 403) {
    return new ConfigError('llm_auth', `The tenant's AI key was rejected (HTTP ${status}) — ${ADMIN_HINT}`, {
      cause: err,
    });
  }
  if (status === 404) {
    return new ConfigError(
      'llm_not_found',
      `The AI ${ctx.target} was not found at the configured endpoint — ${ADMIN_HINT}`,
      { cause: err },
    );
  }
  if (status === 408 || status === 409 || status >= 500) return unavailableError(err);
  const detail = providerMessage(err, ctx.apiKey);
  return new PlatformError(
    'llm_rejected',
    `The AI service rejected the request (HTTP ${status})${detail ? `: ${detail}` : '.'}`,
    { cause: err },
  );
}

/**
 * Server-requested wait in ms: `retry-after-ms`, else `retry-after` as seconds or an HTTP date;
 * undefined when absent or unparsable.
 */
export function parseRetryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers?.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Whether an error body says the account's quota is used up (not a passing rate limit). */
function isQuotaBody(text: string): boolean {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown } } | null;
    return body?.error?.code === 'insufficient_quota';
  } catch {
    return false;
  }
}

function isContentFilter(err: APIError): boolean {
  if (err.code === 'content_filter') return true;
  const body = err.error as { innererror?: { code?: unknown } } | undefined;
  return body?.innererror?.code === 'ResponsibleAIPolicyViolation';
}

/** The provider's own error message, shortened and with the key removed, for unexpected 4xx. */
function providerMessage(err: APIError, apiKey: string): string {
  const body = err.error as { message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message : '';
  return redactSecret(text, apiKey).slice(0, 300);
}

/** Replaces every occurrence of `secret` (if non-trivial) in `text`. */
function redactSecret(text: string, secret: string): string {
  return secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
}
