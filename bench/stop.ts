/**
 * `npm run bench:stop`: how long a Stop takes to reach the model request it aborts
 * (docs/design.md §12: within 1 s, whichever process holds the lease). Two apps on one database
 * stand in for two processes: `front` (HTTP intake only, runs no turns) takes the stops, `worker`
 * runs the turns. Each round queues BENCH_TURNS (default 50) turns, each in a session of its own,
 * waits until every one of them is held by the scripted model, then stops them all at once through
 * `front`; the time from each stop request to the moment the model server saw that request's
 * connection close is one sample. Prints p50 / p99 / max over BENCH_ROUNDS (default 4) rounds.
 * Database: a fresh one on DATABASE_URL's server, else an embedded PostgreSQL; dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../bot/app.ts';
import { loadConfig } from '../core/config.ts';
import type { Deliverer } from '../core/replies/delivery.ts';
import { resolveSession } from '../core/history/sessions.ts';
import { setModelConcurrency } from '../core/llm/capacity.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { createLogger } from '../core/logger.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { startFakeLlm, type FakeLlmRequest } from '../test/fakes/llm-server.ts';
import { createBenchDatabase } from './support/db.ts';
import { makeTag, tagOf } from './support/llm.ts';

const turns = Number(process.env.BENCH_TURNS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const llm = await startFakeLlm({ provider: 'openai' });
const db = await createBenchDatabase(process.env.DATABASE_URL);
const dataDir = mkdtempSync(join(tmpdir(), 'renderbot-bench-'));
try {
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    SECRETS_KEY: randomBytes(32).toString('hex'),
  });
  const log = createLogger(process.env.BENCH_LOG_LEVEL ?? 'error');
  const worker = await createApp(config, log, { worker: true });
  const front = await createApp(config, log, { worker: false });
  const deliverer: Deliverer = async () => undefined;
  worker.deliverers.set('web', deliverer);
  await worker.start();
  const em = worker.db.orm.em.fork();
  const tenant = await createTenant(em, { slug: 'bench', name: 'Bench GmbH' });
  await setTenantAi(em, config.secretsKey, tenant.id, llm.settings, llm.apiKey);
  await setModelConcurrency(em, tenant.id, Math.max(turns, 1));

  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    /** Which request (the fake's number) holds which turn's tag. */
    const requestOf = new Map<string, number>();
    let held = 0;
    let allHeld!: () => void;
    const everyoneWaits = new Promise<void>((r) => {
      allHeld = r;
    });
    const hold = (req: FakeLlmRequest) => {
      const user = [...req.body.messages].reverse().find((m) => m.role === 'user');
      requestOf.set(tagOf(String(user?.content ?? '')) ?? '', llm.requests.indexOf(req) + 1);
      if (++held === turns) allHeld();
      return { hang: true as const };
    };
    for (let i = 0; i < turns; i++) llm.enqueue(hold);
    const sessions: { id: string; tag: string }[] = [];
    for (let i = 0; i < turns; i++)
      sessions.push({
        id: (await resolveSession(worker.db.orm.em.fork(), tenant.id, 'web', `bench:${round}:${i}`, 'bench')).id,
        tag: makeTag('S', round * turns + i),
      });
    await Promise.all(
      sessions.map((s) =>
        worker.conversations.submit({
          turn: { tenantId: tenant.id, userId: 'bench', role: 'operator', sessionId: s.id, platform: 'web' },
          text: `how are the renders doing? ${s.tag}`,
          delivery: { platform: 'web', target: {} },
        }),
      ),
    );
    await everyoneWaits;
    const closedBefore = llm.clientClosed.length;
    const stoppedAt = new Map<number, number>();
    await Promise.all(
      sessions.map(async (s) => {
        stoppedAt.set(requestOf.get(s.tag)!, performance.now());
        await front.conversations.stop(
          { tenantId: tenant.id, userId: 'bench', role: 'operator', platform: 'web', name: 'bench' },
          s.id,
        );
      }),
    );
    await llm.whenClientClosed(closedBefore + turns);
    for (const c of llm.clientClosed.slice(closedBefore)) samples.push(c.at - stoppedAt.get(c.request)!);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(
    `bench:stop: ${rounds} rounds of ${turns} turns in flight, all stopped at once through another app than the one holding the leases; load average ${load()}`,
  );
  console.log(
    `  stop → model request aborted: p50 ${pct(sorted, 50).toFixed(0)} ms, p99 ${pct(sorted, 99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (${sorted.length} stops; target p99 < 1000 ms)`,
  );
  await front.close();
  await worker.close();
} finally {
  await llm.close();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
