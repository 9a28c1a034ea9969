import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import restify from 'restify';
import type { App } from './app.ts';

/**
 * A route of the bot's HTTP server; adapters add theirs (Slack, Teams, web). Handlers get
 * Node's request and response (restify's extend them) and read the body themselves, so
 * signature checks see the raw bytes.
 */
export type Route = { method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS'; path: string; handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void };

const started = Date.now();
const restifyMethods = { GET: 'get', POST: 'post', PUT: 'put', DELETE: 'del', OPTIONS: 'opts' } as const;

/** Starts the HTTP server with /healthz, /readyz, /metrics and the given routes. */
export async function startHttpServer(app: App, port: number, routes: Route[] = []): Promise<{ port: number; close(): Promise<void> }> {
  const counts = new Map<string, number>();
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
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(await metrics(app, counts));
    } },
    ...routes,
  ];
  const server = restify.createServer({ name: 'renderbot', handleUncaughtExceptions: false });
  for (const route of all) {
    const handler = async (req: restify.Request, res: restify.Response) => {
      counts.set(route.path, (counts.get(route.path) ?? 0) + 1);
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
  return { port: address.port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
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

/** Process-wide counters only: never a tenant, user, session or id (route patterns, not paths). */
async function metrics(app: App, counts: Map<string, number>): Promise<string> {
  const em = app.db.orm.em.fork();
  const lines = [
    '# HELP renderbot_uptime_seconds Seconds since the process started.',
    '# TYPE renderbot_uptime_seconds gauge',
    `renderbot_uptime_seconds ${Math.round((Date.now() - started) / 1000)}`,
    '# HELP renderbot_http_requests_total HTTP requests by route.',
    '# TYPE renderbot_http_requests_total counter',
    ...[...counts].map(([path, n]) => `renderbot_http_requests_total{route="${path}"} ${n}`),
  ];
  try {
    const [jobs] = (await em.execute(`select count(*)::int as n from graphile_worker.jobs where locked_at is null`)) as { n: number }[];
    const [actions] = (await em.execute(`select count(*)::int as n from pending_action where status = 'pending'`)) as { n: number }[];
    lines.push('# HELP renderbot_queue_jobs_waiting Queued jobs not yet picked up.', '# TYPE renderbot_queue_jobs_waiting gauge', `renderbot_queue_jobs_waiting ${jobs?.n ?? 0}`);
    lines.push('# HELP renderbot_pending_actions Confirmations waiting for a click.', '# TYPE renderbot_pending_actions gauge', `renderbot_pending_actions ${actions?.n ?? 0}`);
  } catch {
    lines.push('renderbot_db_up 0');
  }
  return lines.join('\n') + '\n';
}
