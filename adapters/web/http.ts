import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';

/** Largest JSON body the chat API accepts. */
export const MAX_BODY_BYTES = 64 * 1024;

/** An API failure with its HTTP status; sent as `{ error: { code, message } }`. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** Security headers on every API response (no caching of conversation data, no sniffing). */
const apiHeaders = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...apiHeaders, ...headers });
  res.end(JSON.stringify(body));
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}

/** Reads and parses a JSON body (restify may have read it already into `req.body`). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const pre = (req as IncomingMessage & { body?: unknown }).body;
  if (pre !== undefined) return typeof pre === 'string' || Buffer.isBuffer(pre) ? parse(pre.toString()) : pre;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'unsupported_media_type', 'Send the body as application/json.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', `The body is larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(c as Buffer);
  }
  return parse(Buffer.concat(chunks).toString('utf8'));
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new HttpError(400, 'invalid_json', 'The body is not valid JSON.');
  }
}

/** The bearer token of a request, if any (tokens only — the API never reads cookies, so it is CSRF-safe). */
export function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** A path parameter: restify's `req.params`, else parsed from the URL by position. */
export function pathParam(req: IncomingMessage, name: string, index: number): string {
  const fromRestify = (req as IncomingMessage & { params?: Record<string, string> }).params?.[name];
  if (fromRestify) return fromRestify;
  const parts = new URL(req.url ?? '/', 'http://x').pathname.split('/');
  return decodeURIComponent(parts[index] ?? '');
}

export function searchParams(req: IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://x').searchParams;
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
    'access-control-allow-headers': 'authorization, content-type, accept',
    'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}

/**
 * Answers a CORS preflight (OPTIONS) for the API: 204 with the CORS headers for a configured
 * origin, 403 otherwise. bot/server.ts mounts no OPTIONS routes yet (see the web channel notes).
 */
export function handlePreflight(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[]): void {
  const headers = corsHeaders(req, allowedOrigins);
  res.writeHead(headers['access-control-allow-origin'] ? 204 : 403, headers);
  res.end();
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
