import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { HttpRequest, HttpResponse } from '../http.ts';

/** Largest JSON body the chat API accepts. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The bearer token of a request, if any (tokens only — the API never reads cookies, so it is CSRF-safe). */
export function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** The query string's parameters. */
export function searchParams(req: HttpRequest): URLSearchParams {
  return new URLSearchParams(req.getQuery());
}

/**
 * Strict CORS for the embed: only listed origins get `Access-Control-Allow-Origin`; others get
 * no CORS headers at all, so browsers refuse to share responses with them.
 */
export function corsHeaders(req: IncomingMessage, allowedOrigins: readonly string[]): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin || !allowedOrigins.includes(origin)) return origin ? { vary: 'Origin' } : {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-headers': 'authorization, content-type, accept, idempotency-key',
    'access-control-expose-headers': 'retry-after, idempotent-replayed',
    'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}

/** Answers a CORS preflight (OPTIONS) for the API: 204 with the CORS headers for a configured origin, 403 otherwise. */
export function handlePreflight(req: HttpRequest, res: HttpResponse, allowedOrigins: readonly string[]): void {
  const headers = corsHeaders(req, allowedOrigins);
  res.sendRaw(headers['access-control-allow-origin'] ? 204 : 403, '', headers);
}

/**
 * The client's address: the socket's peer, or with `trustProxy` (addresses, subnets or
 * `loopback` / `linklocal` / `uniquelocal`) the nearest address in X-Forwarded-For that is not a
 * trusted proxy. Without `trustProxy`, X-Forwarded-For is ignored (anyone can write it).
 */
export function createClientAddress(trustProxy: readonly string[] | undefined): (req: IncomingMessage) => string {
  if (!trustProxy?.length) return (req) => req.socket.remoteAddress ?? 'unknown';
  const trust = proxyaddr.compile([...trustProxy]);
  return (req) => (req.socket.remoteAddress ? proxyaddr(req, trust) : 'unknown');
}
