import client from 'prom-client';
import { processRegistry } from '../core/metrics.ts';
import { readQueueGauges, type QueueGauges } from '../core/queue/gauges.ts';
import type { App } from './app.ts';
import { feedbackCounts } from '../core/history/feedback.ts';

/**
 * The /metrics text of a running app: the process registry (core/metrics.ts) plus gauges read
 * from this app and the database when scraped. Totals only — no tenant, user or session.
 */
export function createAppMetrics(app: App): { text(): Promise<string>; contentType: string } {
  const registry = new client.Registry();
  const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(await read());
      },
    });
  gauge('renderbot_turns_in_flight', 'Conversations this process drives right now (TURN_CONCURRENCY bounds it).', () =>
    app.turnsInFlight(),
  );
  gauge('renderbot_model_calls_in_flight', 'Model calls of this process under way.', () => app.gate.stats().inFlight);
  gauge(
    'renderbot_model_calls_waiting',
    "Model calls of this process waiting for their tenant's concurrency cap.",
    () => app.gate.stats().waiting,
  );
  gauge(
    'renderbot_tenants_throttled',
    'Tenants whose model cap this process lowered after a 429.',
    () => app.gate.stats().throttledTenants,
  );
  let db: Promise<QueueGauges | undefined> | undefined;
  // One round trip per scrape for all database gauges (each gauge's collect awaits the same read).
  const fromDb = () =>
    (db ??= readQueueGauges(app.db.orm.em.fork())
      .catch(() => undefined)
      .finally(() =>
        setImmediate(() => {
          db = undefined;
        }),
      ));
  gauge(
    'renderbot_turns_queued',
    'Messages waiting in session inboxes (all processes).',
    async () => (await fromDb())?.queued ?? 0,
  );
  gauge(
    'renderbot_turns_running',
    'Messages being answered (all processes).',
    async () => (await fromDb())?.running ?? 0,
  );
  gauge(
    'renderbot_queue_jobs_waiting',
    'Queue jobs (renders, notices) not yet picked up.',
    async () => (await fromDb())?.jobs ?? 0,
  );
  gauge('renderbot_pending_actions', 'Confirmations waiting for a click.', async () => (await fromDb())?.actions ?? 0);
  new client.Gauge({
    name: 'renderbot_answer_feedback',
    help: "People's 👍 (rating=up) and 👎 (rating=down) on agent answers, all tenants (renderbot admin feedback lists them).",
    labelNames: ['rating'],
    registers: [registry],
    async collect() {
      const counts = await feedbackCounts(app.db.orm.em.fork(), 'all').catch(() => undefined);
      if (!counts) return;
      this.set({ rating: 'up' }, counts.up);
      this.set({ rating: 'down' }, counts.down);
    },
  });
  gauge('renderbot_db_up', 'Whether the database answered this scrape.', async () => ((await fromDb()) ? 1 : 0));
  const merged = client.Registry.merge([processRegistry, registry]);
  return { text: () => merged.metrics(), contentType: merged.contentType };
}
