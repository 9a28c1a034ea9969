/**
 * Why a `fetch` got no answer, in a few words: "no answer within N s" for a timeout or abort,
 * else the socket error's code (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED, …) or its message.
 */
export function fetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
