import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { App } from './app.ts';

/** A route handler of the bot's HTTP server; adapters add theirs (Slack, Teams, web). */
export type Route = { method: string; path: string; handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void };

const started = Date.now();

/** Starts the HTTP server with /healthz, /readyz, /metrics and the given routes. */
export async function startHttpServer(app: App, port: number, routes: Route[] = []): Promise<{ server: Server; port: number; close(): Promise<void> }> {
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
    { method: 'GET', path: '/metrics', handle: async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(await metrics(app, counts));
    } },
    ...routes,
  ];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = all.find((r) => r.path === path && r.method === req.method);
    if (!route) return json(res, all.some((r) => r.path === path) ? 405 : 404, { error: { code: 'not_found', message: `No route ${req.method} ${path}` } });
    counts.set(route.path, (counts.get(route.path) ?? 0) + 1);
    try {
      await route.handle(req, res);
    } catch (err) {
      app.log.error({ err, path }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: { code: 'internal', message: 'Internal error' } });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, resolve));
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return { server, port: actual, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

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
