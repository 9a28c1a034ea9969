import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import restify from 'restify';
import { httpRequests } from '../core/metrics.ts';
import type { App } from './app.ts';
import { createAppMetrics } from './metrics.ts';

/**
 * A route of the bot's HTTP server; adapters add theirs (Slack, Teams, web). Handlers get
 * Node's request and response (restify's extend them) and read the body themselves, so
 * signature checks see the raw bytes.
 */
export type Route = { method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS'; path: string; handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void };

const restifyMethods = { GET: 'get', POST: 'post', PUT: 'put', DELETE: 'del', OPTIONS: 'opts' } as const;

/** A listening HTTP server; `close` stops taking connections and cuts those still open after `graceMs`. */
export type HttpServer = { port: number; close(graceMs?: number): Promise<void> };

/** Starts the HTTP server with /healthz, /readyz, /metrics and the given routes. */
export async function startHttpServer(app: App, port: number, routes: Route[] = []): Promise<HttpServer> {
  const metrics = createAppMetrics(app);
  const all: Route[] = [
    { method: 'GET', path: '/healthz', handle: (_req, res) => json(res, 200, { status: 'ok' }) },
    { method: 'GET', path: '/readyz', handle: async (_req, res) => {
      try {
        await app.db.orm.em.fork().execute('select 1');
        json(res, 200, { status: 'ready' });
      } catch {
        json(res, 503, { status: 'database unavailable' });
      }
    } },
    { method: 'GET', path: '/metrics', handle: async (req, res) => {
      if (!metricsAllowed(req, app.config.METRICS_TOKEN)) {
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' });
        res.end('Send METRICS_TOKEN as "Authorization: Bearer <token>".\n');
        return;
      }
      const body = await metrics.text();
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(body);
    } },
    ...routes,
  ];
  const server = restify.createServer({ name: 'renderbot', handleUncaughtExceptions: false });
  for (const route of all) {
    const handler = async (req: restify.Request, res: restify.Response) => {
      httpRequests.inc({ route: route.path });
      try {
        await route.handle(req, res);
      } catch (err) {
        app.log.error({ err, path: route.path }, 'request failed');
        if (!res.headersSent) json(res, 500, { error: { code: 'internal', message: 'Internal error' } });
      }
    };
    server[restifyMethods[route.method]](route.path, handler);
  }
  await new Promise<void>((resolve) => server.listen(port, resolve));
  const address = server.address();
  return {
    port: address.port,
    close: (graceMs = 5000) => new Promise<void>((resolve) => {
      // Stops listening at once; requests still open after the grace time (long-polls, waiting answers) are cut.
      const force = setTimeout(() => server.server.closeAllConnections(), graceMs);
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
    }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Without METRICS_TOKEN /metrics is open; with it, only `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time). */
function metricsAllowed(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}
