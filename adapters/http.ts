import type { Request, Response } from 'restify';

/*
 * The HTTP contract between the adapters and the bot's restify server (bot/server.ts): a route
 * declares its method, path and how its body is read; the server reads and limits the body with
 * restify's body plugins, passes path parameters in `req.params` and answers every thrown error
 * as `{ error: { code, message } }`. Shared by all adapters; it is no adapter of its own.
 */

/**
 * How the server reads a route's body before the handler runs; bodies over `maxBytes` get 413,
 * compressed bodies (Content-Encoding) 415.
 * - `json`: `application/json` only (415 otherwise), parsed into `req.body` (400 when it is not
 *   JSON; undefined when the body is empty).
 * - `raw`: the body as received, in `req.rawBody`, for signature checks (Slack, render farm).
 *   restify's reader stores text types (JSON, forms, text/*) as UTF-8 text — the bytes Slack and
 *   the farm sign — and does not read bodies sent as `application/octet-stream` or without a type.
 */
export type RouteBody = { kind: 'json' | 'raw'; maxBytes: number };

/** A request as route handlers see it: restify's, with path parameters and the body the route asked for. */
export type HttpRequest = Omit<Request, 'params' | 'body' | 'rawBody'> & {
  params: Record<string, string | undefined>;
  /** The parsed JSON body of a `json` route; undefined when the body was empty. */
  body?: unknown;
  /** The body of a `raw` route (empty when there was none). */
  rawBody?: Buffer;
};

export type HttpResponse = Response;

/** A route of the bot's HTTP server; adapters add theirs. */
export type HttpRoute = {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';
  /** restify path, parameters as `:name` (e.g. `/api/chat/sessions/:session_id`). */
  path: string;
  /** How the body is read; routes without one get no body. */
  body?: RouteBody;
  handle(req: HttpRequest, res: HttpResponse): Promise<void> | void;
};

/** A request the server refuses with `status`; answered as `{ error: { code, message } }` with `headers`. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** Headers on every JSON answer: conversation data is never cached, content never sniffed. */
const jsonHeaders = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

/** Answers with a JSON body (through restify, so the server knows the response was sent). */
export function sendJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.sendRaw(status, JSON.stringify(body), { ...jsonHeaders, ...headers });
}

/** Answers with `{ error: { code, message } }` and the error's headers. */
export function sendError(res: HttpResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}
