import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ConfigError, PlatformError, RenderBotError } from '../errors.ts';

/** Retry limits for one `complete` call. */
export type RetryPolicy = {
  /** Total attempts including the first (≥ 1). */
  maxAttempts: number;
  /** First backoff step; doubles per failed attempt, with jitter. */
  baseDelayMs: number;
  /** Ceiling for a computed backoff step. */
  maxBackoffMs: number;
  /** Longest server-requested wait (retry-after) we honour; longer requests fail fast. */
  maxRetryAfterMs: number;
};

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxBackoffMs: 8_000, maxRetryAfterMs: 30_000 };

/** Raised internally when an attempt exceeded its time budget (total, or idle while streaming). */
export class LlmTimeoutError extends Error {
  constructor(ms: number) {
    super(`The AI service did not answer within ${ms} ms.`);
  }
}

/**
 * A 429 handed to the caller instead of being waited out (ChatRequest `rateLimits: 'throw'`), so
 * that the caller can give its concurrency slot back while it waits (DESIGN §4).
 */
export class LlmRateLimitedError extends PlatformError {
  readonly retryAfterMs: number | undefined;
  constructor(retryAfterMs: number | undefined, cause?: unknown) {
    super('llm_rate_limited', 'The AI service is rate-limited right now; please try again in a minute.', { cause });
    this.retryAfterMs = retryAfterMs;
  }
}

/** Raised internally when a 200 response was unusable (no choices, stream ended early). */
export class LlmIncompleteResponseError extends Error {}

/** What to do after a failed attempt. */
export type FailureDecision =
  | { retry: true; delayMs: number; reason: string; status?: number }
  | { retry: false; error: RenderBotError };

/** Facts about the call that shape error messages; `apiKey` is only used for redaction. */
export type FailureContext = { policy: RetryPolicy; attempt: number; apiKey: string; target: string; now?: number; random?: () => number };

const ADMIN_HINT = 'ask an admin to run: renderbot admin tenant ai …';

/** The error after the last attempt failed transiently. */
export function unavailableError(cause?: unknown): PlatformError {
  return new PlatformError('llm_unavailable', 'The AI service is unavailable right now, please try again in a minute.', { cause });
}

/** Maps an error of one attempt to retry-with-delay or a final RenderBotError (messages never hold the key). */
export function decideOnFailure(err: unknown, ctx: FailureContext): FailureDecision {
  const backoff = () => backoffMs(ctx.attempt, ctx.policy, ctx.random);
  if (err instanceof RenderBotError) return { retry: false, error: err };
  if (err instanceof LlmTimeoutError || err instanceof APIConnectionTimeoutError) return { retry: true, delayMs: backoff(), reason: 'timeout' };
  if (err instanceof APIUserAbortError) return { retry: false, error: new PlatformError('llm_aborted', 'The AI request was cancelled.', { cause: err }) };
  if (err instanceof APIConnectionError) return { retry: true, delayMs: backoff(), reason: 'connection' };
  if (err instanceof LlmIncompleteResponseError) return { retry: true, delayMs: backoff(), reason: 'incomplete response' };
  if (!(err instanceof APIError) || typeof err.status !== 'number') {
    // Undici reports sockets closed mid-body as plain TypeErrors ("terminated"): transient.
    return { retry: true, delayMs: backoff(), reason: 'transport' };
  }
  const status = err.status;
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (status === 429) {
    if (code === 'insufficient_quota') {
      return { retry: false, error: new ConfigError('llm_quota', "The tenant's AI account has no quota left; ask an admin to check the AI provider's billing and limits.", { cause: err }) };
    }
    const asked = parseRetryAfterMs(err.headers, ctx.now ?? Date.now());
    if (asked !== undefined && asked > ctx.policy.maxRetryAfterMs) {
      const seconds = Math.ceil(asked / 1000);
      return { retry: false, error: new PlatformError('llm_rate_limited', `The AI service is rate-limited for about ${seconds} s; please try again later.`, { cause: err }) };
    }
    return { retry: true, delayMs: asked ?? backoff(), reason: 'rate limited', status };
  }
  if (status === 400 && isContentFilter(err)) {
    return {
      retry: false,
      error: new PlatformError('llm_content_filter', "The AI service's content filter declined this request. Please rephrase your message and try again.", { cause: err }),
    };
  }
  if (status === 401 || status === 403) {
    return { retry: false, error: new ConfigError('llm_auth', `The tenant's AI key was rejected (HTTP ${status}) — ${ADMIN_HINT}`, { cause: err }) };
  }
  if (status === 404) {
    return { retry: false, error: new ConfigError('llm_not_found', `The AI ${ctx.target} was not found at the configured endpoint — ${ADMIN_HINT}`, { cause: err }) };
  }
  if (status === 408 || status === 409 || status >= 500) return { retry: true, delayMs: backoff(), reason: `HTTP ${status}`, status };
  const detail = providerMessage(err, ctx.apiKey);
  return {
    retry: false,
    error: new PlatformError('llm_rejected', `The AI service rejected the request (HTTP ${status})${detail ? `: ${detail}` : '.'}`, { cause: err }),
  };
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

/** Exponential backoff for failed attempt `attempt` (1-based) with "equal jitter": [d/2, d]. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.maxBackoffMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
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
export function redactSecret(text: string, secret: string): string {
  return secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
}
