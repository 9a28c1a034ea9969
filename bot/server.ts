import { createHash, timingSafeEqual } from 'node:crypto';
import restify from 'restify';
import {
  HttpError,
  sendError,
  sendJson,
  type HttpRequest,
  type HttpResponse,
  type HttpRoute,
  type RouteBody,
} from '../adapters/http.ts';
import { RenderBotError } from '../core/errors.ts';
import type { DatabaseAvailability } from '../core/availability.ts';
import type { Logger } from '../core/logger.ts';
import { httpRequests } from '../core/metrics.ts';
import type { App } from './app.ts';
import { createAppMetrics } from './metrics.ts';

/** A route of the bot's HTTP server (adapters/http.ts); adapters add theirs (Slack, Teams, web). */
export type Route = HttpRoute;

const restifyMethods = { GET: 'get', POST: 'post', PUT: 'put', DELETE: 'del', OPTIONS: 'opts' } as const;

/** A listening HTTP server; `close` stops taking connections and cuts those still open after `graceMs`. */
export type HttpServer = { port: number; close(graceMs?: number): Promise<void> };

/**
 * Starts the HTTP server with /healthz, /readyz, /metrics and the given routes, on restify: its
 * body plugins read each route's body (RouteBody), its router fills `req.params`, and one error
 * handler answers everything that goes wrong — a thrown HttpError or RenderBotError, a bad or
 * oversized body, an unknown path (404) or method (405) — as `{ error: { code, message } }`.
 * Unexpected errors are logged and answered with a generic 500 that names no internals.
 */
export async function startHttpServer(app: App, port: number, routes: Route[] = []): Promise<HttpServer> {
  const metrics = createAppMetrics(app);
  const all: Route[] = [
    { method: 'GET', path: '/healthz', handle: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/readyz',
      handle: async (_req, res) => {
        if (await app.db.availability.check()) sendJson(res, 200, { status: 'ready' });
        else sendJson(res, 503, { status: 'database unavailable' });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handle: async (req, res) => {
        if (!metricsAllowed(req, app.config.METRICS_TOKEN)) {
          res.sendRaw(401, 'Send METRICS_TOKEN as "Authorization: Bearer <token>".\n', {
            'content-type': 'text/plain; charset=utf-8',
            'www-authenticate': 'Bearer',
          });
          return;
        }
        res.sendRaw(200, await metrics.text(), { 'content-type': metrics.contentType });
      },
    },
    ...routes,
  ];
  const log = app.log.child({ component: 'http' });
  const server = restify.createServer({ name: 'renderbot', handleUncaughtExceptions: false });
  // Errors restify raises itself (unknown path or method, and the body readers' errors it did not hand to a route) end here.
  server.on('restifyError', (req: restify.Request, res: restify.Response, err: unknown, done: () => void) => {
    answerError(log, app.db.availability, req, res, err);
    done();
  });
  for (const route of all) {
    const handler = async (req: restify.Request, res: restify.Response) => {
      httpRequests.inc({ route: route.path });
      try {
        await route.handle(req as HttpRequest, res);
      } catch (err) {
        answerError(log, app.db.availability, req, res, err);
      }
    };
    server[restifyMethods[route.method]](route.path, ...(route.body ? bodyReaders(route.body) : []), handler);
  }
  await new Promise<void>((resolve) => server.listen(port, resolve));
  const address = server.address();
  return {
    port: address.port,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        // Stops listening at once; requests still open after the grace time (long-polls, waiting answers) are cut.
        const force = setTimeout(() => server.server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

type Next = (err?: unknown) => void;
type Handler = (req: restify.Request, res: restify.Response, next: Next) => void;

/**
 * restify's body plugins for a route: limits checked up front where the headers tell (compressed
 * bodies, a declared length over the limit, a JSON route sent a body of another type; a request
 * without a body needs no type), then `bodyReader`
 * (which stops keeping bytes past `maxBytes`) and for JSON routes `jsonBodyParser`; their
 * errors become HttpErrors with this server's codes and messages.
 */
function bodyReaders(body: RouteBody): Handler[] {
  const tooLarge = () => new HttpError(413, 'body_too_large', `The body is larger than ${body.maxBytes} bytes.`);
  const check: Handler = (req, _res, next) => {
    const encoding = req.headers['content-encoding'];
    // restify would inflate gzip without counting the inflated bytes against the limit.
    if (encoding && encoding.toLowerCase() !== 'identity')
      return next(new HttpError(415, 'unsupported_media_type', 'Send the body without Content-Encoding.'));
    if (Number(req.headers['content-length'] ?? 0) > body.maxBytes) return next(tooLarge());
    if (body.kind === 'json' && hasBody(req) && !isJson(req.getContentType()))
      return next(new HttpError(415, 'unsupported_media_type', 'Send the body as application/json.'));
    next();
  };
  const translate =
    (handler: Handler): Handler =>
    (req, res, next) =>
      handler(req, res, (err) => {
        if (!(err instanceof Error)) return next(err);
        if (err.name === 'PayloadTooLargeError' || err.name === 'RequestEntityTooLargeError') return next(tooLarge());
        if (err.name === 'InvalidContentError')
          return next(new HttpError(400, 'invalid_json', 'The body is not valid JSON.'));
        // Other refusals of the readers (e.g. a Content-MD5 that does not match) are the client's.
        const status = (err as { statusCode?: unknown }).statusCode;
        if (typeof status === 'number' && status >= 400 && status < 500)
          return next(new HttpError(status, 'bad_request', 'The body could not be read as sent.'));
        next(err);
      });
  const read = translate(restify.plugins.bodyReader({ maxBodySize: body.maxBytes }) as Handler);
  if (body.kind === 'raw') {
    const keepRaw: Handler = (req, _res, next) => {
      const raw: unknown = req.body;
      req.rawBody = Buffer.isBuffer(raw) ? raw : Buffer.from(typeof raw === 'string' ? raw : '', 'utf8');
      req.body = undefined;
      next();
    };
    return [check, read, keepRaw];
  }
  const parse = (restify.plugins.jsonBodyParser({ bodyReader: true }) as Handler[]).map(translate);
  const dropRaw: Handler = (req, _res, next) => {
    // An empty body is left unparsed (as '' when it came chunked): the handler sees undefined.
    if (!req.rawBody) req.body = undefined;
    delete req.rawBody;
    next();
  };
  return [check, read, ...parse, dropRaw];
}

/** False for a request that carries no body at all (no Content-Length above 0, not chunked): it needs no content type. */
function hasBody(req: restify.Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** The content types restify's jsonBodyParser parses. */
function isJson(contentType: string): boolean {
  return contentType === 'application/json' || /^application\/[a-z.]+\+json$/i.test(contentType);
}

/** The HTTP answer to an error: its own for HttpError; by fault for RenderBotError; restify's router errors; else a generic 500. */
function problemOf(err: unknown, method = 'This method'): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof RenderBotError) {
    if (err.code.endsWith('not_found')) return new HttpError(404, 'not_found', err.message);
    if (err.fault === 'user') return new HttpError(400, err.code, err.message);
    if (err.fault === 'scope') return new HttpError(404, 'not_found', 'Not found.');
  }
  const name = err instanceof Error ? err.name : '';
  if (name === 'ResourceNotFoundError') return new HttpError(404, 'not_found', 'Nothing is served at this path.');
  if (name === 'MethodNotAllowedError')
    return new HttpError(405, 'method_not_allowed', `${method} is not allowed on this path.`);
  return new HttpError(500, 'internal', 'Internal error; it was logged.');
}

/** A request that failed because the database is out of reach: retry later (the outage itself is logged once). */
const databaseUnavailable = new HttpError(
  503,
  'database_unavailable',
  'The database is unavailable right now; try again shortly.',
);

function answerError(
  log: Logger,
  availability: DatabaseAvailability,
  req: restify.Request,
  res: HttpResponse,
  err: unknown,
): void {
  const outage = !(err instanceof HttpError) && availability.report(err);
  const problem = outage ? databaseUnavailable : problemOf(err, req.method);
  if (problem.status >= 500 && !outage) log.error({ err, method: req.method, path: req.getPath() }, 'request failed');
  if (res.headersSent) {
    // A stream already under way (SSE, a file) can only be cut short.
    if (!res.writableEnded) res.end();
    return;
  }
  sendError(res, problem);
}

/** Without METRICS_TOKEN /metrics is open; with it, only `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time). */
function metricsAllowed(req: HttpRequest, token: string | undefined): boolean {
  if (!token) return true;
  const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}
