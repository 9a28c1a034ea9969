/**
 * `npm run bench:turns`: how many durable agent turns per second the session inboxes finish,
 * without HTTP intake. Queues BENCH_TURNS (default 3000) turns, each in a session of its own,
 * through `conversations.submit`, then starts one turn runner (TURN_CONCURRENCY, default 1000)
 * and times until every reply was delivered; the scripted LLM fake answers instantly.
 * BENCH_HANDLER=noop replaces the turn by marking it done, leaving the leases' and inbox's own cost. Database: a fresh one on DATABASE_URL's
 * server, else an embedded PostgreSQL in a temporary directory; dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { Deliverer } from '../core/replies/delivery.ts';
import { createSessionDrain } from '../core/conversations/drain.ts';
import { createFinishedItems } from '../core/conversations/finished.ts';
import { createConversations } from '../core/conversations/service.ts';
import { resolveSession } from '../core/history/sessions.ts';
import { createOrm, migrate } from '../core/db/orm.ts';
import { createModelProvider } from '../core/llm/provider.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { installQueue } from '../core/queue/queue.ts';
import { finishItems, pendingItems } from '../core/queue/session-inbox.ts';
import { startTurnRunner, type SessionDrain } from '../core/queue/turn-runner.ts';
import type { Platform } from '../core/tenancy/roles.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { defaultTools } from '../core/tools/index.ts';
import { createBenchDatabase } from './support/db.ts';
import { makeTag, startInstantLlm } from './support/llm.ts';

const turns = Number(process.env.BENCH_TURNS ?? 3000);
const concurrency = Number(process.env.TURN_CONCURRENCY ?? 1000);
const noop = process.env.BENCH_HANDLER === 'noop';
const log = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'error' });

const llm = await startInstantLlm(turns + 10);
const db = await createBenchDatabase(process.env.DATABASE_URL);
try {
  const orm = await createOrm(db.url, { poolMax: 10 });
  await migrate(orm);
  await installQueue(db.url);
  const secretsKey = randomBytes(32);
  const em = orm.em.fork();
  const tenant = await createTenant(em, { slug: 'bench', name: 'Bench GmbH' });
  await setTenantAi(em, secretsKey, tenant.id, llm.settings, llm.apiKey);

  let delivered = 0;
  let allDelivered: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDelivered = resolve;
  });
  const count = () => {
    if (++delivered === turns) allDelivered();
  };
  const deliverer: Deliverer = async () => {
    count();
    return undefined;
  };
  const core = {
    orm,
    log,
    tools: defaultTools,
    now: () => new Date(),
    models: createModelProvider(secretsKey, log),
    deliverers: new Map<Platform, Deliverer>([['cli', deliverer]]),
    finished: createFinishedItems(),
  };
  // Queued first, drained later: the runner starts after all turns are in the inbox.
  const conversations = createConversations(core);

  const queuedAt = performance.now();
  for (let i = 0; i < turns; i++) {
    const session = await resolveSession(orm.em.fork(), tenant.id, 'cli', `bench:${i}`, 'bench');
    await conversations.submit({
      turn: { tenantId: tenant.id, userId: 'bench', role: 'operator', sessionId: session.id, platform: 'cli' },
      text: `how are the renders doing ${makeTag('T', i)}`,
      delivery: { platform: 'cli', target: {} },
      eventId: `bench-${i}`,
    });
  }
  console.log(`queued ${turns} turns in ${((performance.now() - queuedAt) / 1000).toFixed(1)} s`);

  const noopDrain: SessionDrain = async (sessionId, lease) => {
    const items = await pendingItems(orm.em.fork(), sessionId);
    const { released } = await finishItems(
      orm.em.fork(),
      items.map((i) => i.id),
      [],
      { sessionId, owner: lease.owner },
    );
    for (const _ of items) count();
    return released;
  };
  const start = performance.now();
  const runner = startTurnRunner({
    orm,
    log,
    drain: noop ? noopDrain : createSessionDrain(core),
    concurrency,
    leaseMs: 30_000,
  });
  await done;
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `${noop ? 'noop handler' : 'agent turns'}: ${turns} in ${seconds.toFixed(2)} s = ${(turns / seconds).toFixed(0)}/s (TURN_CONCURRENCY=${concurrency})`,
  );
  await runner.stop();
  await orm.close();
} finally {
  await llm.close();
  await db.drop();
}
process.exit(0);
