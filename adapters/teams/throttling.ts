/** Seconds to wait when the Bot Connector throttles without saying how long. */
const DEFAULT_WAIT_SECONDS = 1;

/** A header value from the shapes botbuilder's HTTP errors carry (a Headers-like `get`, or a plain record). */
function header(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const h = headers as { get?: unknown; [key: string]: unknown };
  if (typeof h.get === 'function') {
    const value: unknown = (h.get as (n: string) => unknown).call(headers, name);
    return typeof value === 'string' ? value : undefined;
  }
  const value = h[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Seconds the Bot Connector asked to wait, when `err` is its 429 answer to a send or update
 * (botbuilder passes 429s on; its own retries cover 5xx only): `Retry-After` in seconds, or one
 * second when it names none. Undefined for every other failure.
 */
export function throttledFor(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; status?: unknown; response?: { status?: unknown; headers?: unknown } };
  const status = e.statusCode ?? e.status ?? e.response?.status;
  if (status !== 429) return undefined;
  const seconds = Number(header(e.response?.headers, 'retry-after'));
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_WAIT_SECONDS;
}
