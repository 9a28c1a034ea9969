/**
 * `npm run bench:inflight`: what turns waiting on the model cost one process. Queues
 * BENCH_TURNS (default 1000) messages, each in a session of its own, into one app's session
 * inboxes (as the platforms' intake does) while the scripted model holds every request; once all
 * of them wait on the model at the same moment, prints the process's heap and RSS growth per
 * waiting turn and the database connections the app holds (pg_stat_activity), then lets the
 * model answer and times until every answer was delivered. Database: a fresh one on
 * DATABASE_URL's server, else an embedded PostgreSQL; dropped afterwards. Prints numbers only.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createApp } from '../bot/app.ts';
import { connectionBudget, loadConfig } from '../core/config.ts';
import type { Deliverer } from '../core/replies/delivery.ts';
import { resolveSession } from '../core/history/sessions.ts';
import { setModelConcurrency } from '../core/llm/capacity.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { createLogger } from '../core/logger.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import type { AiSettings } from '../core/llm/settings.ts';
import { createBenchDatabase } from './support/db.ts';

const turns = Number(process.env.BENCH_TURNS ?? 1000);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const gc = (globalThis as { gc?: () => void }).gc;

// The model runs in a process of its own: its request log must not count in the measured heap.
const model = fork(join(import.meta.dirname, 'support', 'held-llm.ts'), [], {
  env: { ...process.env, BENCH_TURNS: String(turns) },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const messages = new EventEmitter();
model.on('message', (m: { type: string }) => messages.emit(m.type, m));
const [ready] = (await once(messages, 'ready')) as [{ settings: AiSettings; apiKey: string }];
const everyoneWaits = once(messages, 'waiting');
const db = await createBenchDatabase(process.env.DATABASE_URL);
const dataDir = mkdtempSync(join(tmpdir(), 'renderbot-bench-'));
try {
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    SECRETS_KEY: randomBytes(32).toString('hex'),
  });
  const app = await createApp(config, createLogger(process.env.BENCH_LOG_LEVEL ?? 'error'), { worker: true });
  let delivered = 0;
  let allDelivered!: () => void;
  const done = new Promise<void>((r) => {
    allDelivered = r;
  });
  const deliverer: Deliverer = async () => {
    if (++delivered === turns) allDelivered();
    return undefined;
  };
  app.deliverers.set('web', deliverer);
  await app.start();
  const em = app.db.orm.em.fork();
  const tenant = await createTenant(em, { slug: 'bench', name: 'Bench GmbH' });
  await setTenantAi(em, config.secretsKey, tenant.id, ready.settings, ready.apiKey);
  await setModelConcurrency(em, tenant.id, Math.max(turns, 1));
  const sessions = [];
  for (let i = 0; i < turns; i++)
    sessions.push((await resolveSession(app.db.orm.em.fork(), tenant.id, 'web', `bench:${i}`, 'bench')).id);

  gc?.();
  const before = process.memoryUsage();
  const started = performance.now();
  await Promise.all(
    sessions.map((sessionId) =>
      app.conversations.submit({
        turn: { tenantId: tenant.id, userId: 'bench', role: 'operator', sessionId, platform: 'web' },
        text: 'how are the renders doing?',
        delivery: { platform: 'web', target: {} },
      }),
    ),
  );
  await everyoneWaits;
  const allWaitingAfter = (performance.now() - started) / 1000;
  gc?.();
  const during = process.memoryUsage();
  const probe = new pg.Client({ connectionString: db.url });
  await probe.connect();
  const { rows } = await probe.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
  );
  await probe.end();
  const answerStart = performance.now();
  model.send({ type: 'open' });
  await done;
  const answered = (performance.now() - answerStart) / 1000;
  console.log(
    `bench:inflight: ${turns} turns waiting on the model at once in one process (TURN_CONCURRENCY ${config.TURN_CONCURRENCY}); load average ${load()}`,
  );
  console.log(`  all waiting after ${allWaitingAfter.toFixed(1)} s (queued through the session inboxes)`);
  console.log(
    `  heap: ${mb(before.heapUsed)} → ${mb(during.heapUsed)} (${((during.heapUsed - before.heapUsed) / turns / 1024).toFixed(0)} KB per waiting turn${gc ? '' : '; run with --expose-gc for settled numbers'})`,
  );
  console.log(
    `  RSS:  ${mb(before.rss)} → ${mb(during.rss)} (${((during.rss - before.rss) / turns / 1024).toFixed(0)} KB per waiting turn)`,
  );
  console.log(
    `  database connections held: ${rows[0]!.n} (budget ${connectionBudget(config)}: DATABASE_POOL_SIZE ${config.DATABASE_POOL_SIZE} + QUERY_POOL_SIZE ${config.QUERY_POOL_SIZE} + 2 rate limits + 2 intake + 1 LISTEN + RENDER_CONCURRENCY ${config.RENDER_CONCURRENCY} + 4 queue)`,
  );
  console.log(`  released: all ${turns} answered and delivered in ${answered.toFixed(1)} s`);
  await app.close();
} finally {
  model.send({ type: 'stop' });
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
