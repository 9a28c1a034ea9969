/**
 * `npm run bench:renders`: BENCH_JOBS render jobs (default 10,000) at 256×256 WebP, submitted as
 * orders of BENCH_ORDER_SIZE products (default 100), run by BENCH_WORKERS worker processes
 * (default 2, each composed like `renderbot worker`, RENDER_CONCURRENCY from BENCH_CONCURRENCY,
 * default 4). Two phases on one database: the local tile renderer, then a no-op backend (the
 * queue's own ceiling). Prints jobs/s, queue latency (render_job queued_at → started_at), render
 * time, peak RSS of each worker process (VmHWM), the load average, and checks that every job
 * completed exactly once (one attempt, one file) and every order derived to 'completed'.
 * Database: a fresh one on DATABASE_URL's server, else an embedded PostgreSQL in a temporary
 * directory; dropped afterwards. BENCH_SAMPLE=1 also prints what the database sessions spent the
 * phase on (pg_stat_activity samples: lock waits, commits, statements).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrm, migrate, type Orm } from '../core/db/orm.ts';
import { z } from 'zod';
import { row } from '../core/db/sql.ts';
import { ensureOutputType, upsertProducts } from '../core/pipeline/catalogue.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { installQueue } from '../core/queue/queue.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { startTarget, type Target } from './support/child.ts';
import { createBenchDatabase } from './support/db.ts';
import { sampleActivity } from './support/pg-sampler.ts';

const num = (name: string, fallback: number) => {
  const v = process.env[name] ? Number(process.env[name]) : fallback;
  if (!Number.isInteger(v) || v <= 0)
    throw new Error(`${name} must be a positive whole number, got "${process.env[name]}"`);
  return v;
};
const JOBS = num('BENCH_JOBS', 10_000);
const ORDER_SIZE = Math.min(num('BENCH_ORDER_SIZE', 100), JOBS);
const WORKERS = num('BENCH_WORKERS', 2);
const CONCURRENCY = num('BENCH_CONCURRENCY', 4);
const STALL_SECONDS = num('BENCH_STALL_SECONDS', 60);
const SAMPLE = process.env.BENCH_SAMPLE === '1';
const OUTPUT_TYPE = 'WebP 256x256';
const phases = (process.env.BENCH_PHASES ?? 'local,noop')
  .split(',')
  .map((p) => p.trim())
  .filter((p) => p === 'local' || p === 'noop');

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `bench:renders: ${JOBS.toLocaleString('en')} jobs in orders of ${ORDER_SIZE} at 256×256, ${WORKERS} worker processes × RENDER_CONCURRENCY ${CONCURRENCY}; load average ${load()}`,
);

const db = await createBenchDatabase(process.env.DATABASE_URL);
const dataDir = mkdtempSync(join(tmpdir(), 'renderbot-bench-renders-'));
const secretsKey = randomBytes(32).toString('hex');
try {
  const orm = await createOrm(db.url, { poolMax: 4 });
  await migrate(orm);
  await installQueue(db.url);
  const tenantId = await seedTenant(orm, JOBS * phases.length);
  const results: PhaseResult[] = [];
  for (const [i, phase] of phases.entries()) {
    results.push(await runPhase(orm, tenantId, phase, i * JOBS));
  }
  console.log('');
  console.log(
    'backend  jobs      jobs/s  queue p50  queue p95  render p50  render p95  peak RSS per worker   exactly once  orders completed',
  );
  for (const r of results) {
    console.log(
      [
        r.phase.padEnd(7),
        String(r.jobs).padStart(5),
        r.jobsPerSecond.toFixed(0).padStart(9),
        secs(r.queue.p50).padStart(9),
        secs(r.queue.p95).padStart(9),
        ms(r.render.p50).padStart(10),
        ms(r.render.p95).padStart(10),
        r.peakRssMb
          .map((m) => `${m.toFixed(0)} MB`)
          .join(', ')
          .padStart(20),
        (r.exactlyOnce ? 'yes' : 'NO').padStart(12),
        `${r.ordersCompleted}/${r.orders}`.padStart(16),
      ].join('  '),
    );
  }
  for (const r of results.filter((x) => x.problems.length)) console.log(`${r.phase}: ${r.problems.join('; ')}`);
  console.log(`load average after: ${load()}`);
  await orm.close();
} finally {
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);

type PhaseResult = {
  phase: string;
  jobs: number;
  orders: number;
  ordersCompleted: number;
  jobsPerSecond: number;
  queue: { p50: number; p95: number };
  render: { p50: number; p95: number };
  peakRssMb: number[];
  exactlyOnce: boolean;
  problems: string[];
};

/** Starts the workers, submits the orders (one transaction each, as confirmations do), waits until every job finished. */
async function runPhase(orm: Orm, tenantId: string, phase: 'local' | 'noop', offset: number): Promise<PhaseResult> {
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: join(dataDir, phase),
    SECRETS_KEY: secretsKey,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
    RENDER_CONCURRENCY: String(CONCURRENCY),
  };
  const workers: Target[] = [];
  try {
    for (let w = 0; w < WORKERS; w++)
      workers.push(
        await startTarget(
          `${phase} worker ${w + 1}`,
          join(import.meta.dirname, 'support', 'render-workers.ts'),
          phase,
          env,
        ),
      );
    const t0 = performance.now();
    const orderIds: string[] = [];
    for (let i = 0; i < JOBS; i += ORDER_SIZE) {
      const refs = Array.from({ length: Math.min(ORDER_SIZE, JOBS - i) }, (_, k) => pimId(offset + i + k));
      const order = await orm.em.fork().transactional((tx) =>
        createOrder(tx, tenantId, {
          products: { refs },
          outputTypeName: OUTPUT_TYPE,
          submit: true,
          createdBy: 'bench',
          now: new Date(),
        }),
      );
      orderIds.push(order.orderId);
    }
    console.log(
      `${phase}: ${orderIds.length} orders submitted in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${load()}`,
    );
    const sampler = SAMPLE ? await sampleActivity(db.url) : undefined;
    await waitUntilFinished(orm, phase, orderIds);
    for (const a of (await sampler?.stop())?.slice(0, 8) ?? [])
      console.log(`  ${(100 * a.share).toFixed(1).padStart(5)} %  ${a.state.padEnd(24)} ${a.statement}`);
    const peakRssMb = workers.map((w) => peakRss(w.pid));
    console.log(`${phase}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${load()}`);
    return { ...(await phaseNumbers(orm, phase, orderIds)), peakRssMb };
  } finally {
    for (const w of workers) await w.stop();
  }
}

async function waitUntilFinished(orm: Orm, phase: string, orderIds: string[]): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  let lastPrint = performance.now();
  for (;;) {
    const waiting = await row(
      orm.em.fork(),
      z.object({ open: z.coerce.number() }),
      `select count(*) as open from render_job where order_id = any(?::uuid[]) and status in ('queued', 'running')`,
      [`{${orderIds.join(',')}}`],
    );
    const open = waiting?.open ?? 0;
    if (open === 0) return;
    if (open !== last) {
      last = open;
      lastChange = performance.now();
    }
    if (performance.now() - lastChange > STALL_SECONDS * 1000)
      throw new Error(`${phase}: ${open} jobs still open and no progress for ${STALL_SECONDS} s`);
    if (performance.now() - lastPrint > 10_000) {
      console.log(`${phase}: ${open} jobs open; load average ${load()}`);
      lastPrint = performance.now();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function phaseNumbers(
  orm: Orm,
  phase: 'local' | 'noop',
  orderIds: string[],
): Promise<Omit<PhaseResult, 'peakRssMb'>> {
  const ids = `{${orderIds.join(',')}}`;
  const j = (await row(
    orm.em.fork(),
    z.object(
      Object.fromEntries(
        ['jobs', 'completed', 'attempts', 'not_once', 'span', 'q50', 'q95', 'r50', 'r95'].map((k) => [
          k,
          z.coerce.number(),
        ]),
      ),
    ),
    `select count(*) as jobs, count(*) filter (where status = 'completed') as completed, coalesce(sum(attempts), 0) as attempts,
            count(*) filter (where attempts <> 1) as not_once,
            extract(epoch from max(finished_at) - min(started_at)) as span,
            extract(epoch from percentile_cont(0.5) within group (order by started_at - queued_at)) as q50,
            extract(epoch from percentile_cont(0.95) within group (order by started_at - queued_at)) as q95,
            extract(epoch from percentile_cont(0.5) within group (order by finished_at - started_at)) as r50,
            extract(epoch from percentile_cont(0.95) within group (order by finished_at - started_at)) as r95
     from render_job where order_id = any(?::uuid[])`,
    [ids],
  ))!;
  const o = (await row(
    orm.em.fork(),
    z.object({ completed: z.coerce.number() }),
    `select count(*) filter (where status = 'completed') as completed from render_order where id = any(?::uuid[])`,
    [ids],
  ))!;
  const q = (await row(
    orm.em.fork(),
    z.object({ left: z.coerce.number() }),
    `select count(*) as left from graphile_worker.jobs where task_identifier = 'render_job'`,
  ))!;
  const jobs = Number(j.jobs);
  const problems: string[] = [];
  if (Number(j.completed) !== jobs) problems.push(`${jobs - Number(j.completed)} jobs not completed`);
  if (Number(j.not_once) > 0)
    problems.push(`${j.not_once} jobs took more than one attempt (${j.attempts} attempts in all)`);
  if (Number(q.left) > 0) problems.push(`${q.left} render_job queue jobs left`);
  if (phase === 'local') {
    const files = countFiles(join(dataDir, phase, 'renders'));
    if (files !== jobs) problems.push(`${files} files rendered for ${jobs} jobs`);
  }
  return {
    phase,
    jobs,
    orders: orderIds.length,
    ordersCompleted: Number(o.completed),
    jobsPerSecond: jobs / Number(j.span),
    queue: { p50: Number(j.q50), p95: Number(j.q95) },
    render: { p50: Number(j.r50), p95: Number(j.r95) },
    exactlyOnce: problems.length === 0 && Number(j.completed) === jobs,
    problems,
  };
}

/** A tenant with `n` products and the 256×256 output type. */
async function seedTenant(orm: Orm, n: number): Promise<string> {
  return orm.em.fork().transactional(async (em) => {
    const tenant = await createTenant(em, { slug: 'bench', name: 'Bench Renders AG' });
    await upsertProducts(
      em,
      tenant.id,
      Array.from({ length: n }, (_, i) => ({
        pimId: pimId(i),
        name: `Rillenkugellager ${6000 + (i % 900)} Variante ${i}`,
        category: ['Kugellager', 'Rollenlager', 'Dichtungen'][i % 3]!,
        materialName: ['Steel-Bare', 'NBR-Black', 'Brass'][i % 3]!,
      })),
    );
    await ensureOutputType(em, tenant.id, { name: OUTPUT_TYPE, format: 'webp', width: 256, height: 256 });
    return tenant.id;
  });
}

function pimId(i: number): string {
  return `BENCH-${String(i).padStart(6, '0')}`;
}

/** Peak resident set size of process `pid` in MB (Linux: VmHWM), NaN elsewhere. */
function peakRss(pid: number): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function countFiles(dir: string): number {
  try {
    return readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.webp')).length;
  } catch {
    return 0;
  }
}

function secs(v: number): string {
  return Number.isNaN(v) ? '—' : `${v.toFixed(2)} s`;
}

function ms(v: number): string {
  return Number.isNaN(v) ? '—' : `${(v * 1000).toFixed(1)} ms`;
}
