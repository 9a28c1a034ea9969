/**
 * `npm run bench:tools`: read-tool latency on a tenant with 200k products and 2M render jobs,
 * "render all Dichtungen" (~60,000 products: freeze the selection, then confirm → order created
 * and dispatched, while another conversation reads; then the tools on that order), SQL guard
 * time per statement, and prompt tokens of the windowed history versus sending the last 50
 * messages verbatim. Uses DATABASE_URL when set, else the embedded PostgreSQL (database
 * `renderbot_bench`, seeded once and reused). Prints numbers; asserts nothing.
 */
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../core/config.ts';
import { ensureDatabase, startEmbeddedCluster } from '../core/db/embedded.ts';
import { createOrm, migrate, type EntityManager } from '../core/db/orm.ts';
import { countRow, idRow, row } from '../core/db/sql.ts';
import { createLogger } from '../core/logger.ts';
import { seedBulk } from '../bot/seed/bulk.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { defaultTools } from '../core/tools/index.ts';
import type { TurnScope } from '../core/turn-scope.ts';
import { benchGuard } from './guard.ts';
import { benchWindow } from './window.ts';
import { benchSelection } from './selection.ts';
import { installQueue } from '../core/queue/queue.ts';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 200_000);
const JOBS = Number(process.env.BENCH_JOBS ?? 2_000_000);
const log = createLogger('warn');
const config = loadConfig();

let url = config.DATABASE_URL;
let stop = async () => {};
if (!url) {
  const cluster = await startEmbeddedCluster(join(config.dataDir, 'pg'), log);
  await ensureDatabase(cluster.url('postgres'), 'renderbot_bench');
  url = cluster.url('renderbot_bench');
  stop = () => (cluster.owned ? cluster.stop() : Promise.resolve());
}
const orm = await createOrm(url, { poolMax: 4 });
await migrate(orm);
await installQueue(url); // confirming an order queues its render jobs
const em = orm.em.fork();

const tenantId = await ensureBenchTenant(em);
const turn: TurnScope = {
  tenantId,
  userId: 'bench',
  role: 'operator',
  sessionId: await benchSession(em, tenantId),
  platform: 'cli',
};
const orderNumbers = (
  (await em.execute(`select order_number from render_order where tenant_id = ? order by random() limit 200`, [
    tenantId,
  ])) as { order_number: string }[]
).map((r) => r.order_number);

const cases: { tool: string; runs: number; args: (i: number) => Record<string, unknown> }[] = [
  {
    tool: 'search_products',
    runs: 300,
    args: (i) =>
      [
        { query: 'kugellager' },
        { query: '62' },
        { category: 'Kugellager' },
        { query: 'Dichtring', category: 'Dichtungen' },
        { query: `KL-6${i % 400}` },
        { query: 'welle h6' },
      ][i % 6]!,
  },
  {
    tool: 'list_orders',
    runs: 300,
    args: (i) => [{}, { status: 'rendering' }, { status: 'failed' }, { status: 'completed', limit: 50 }][i % 4]!,
  },
  { tool: 'get_order_status', runs: 300, args: (i) => ({ order_id: orderNumbers[i % orderNumbers.length] }) },
  { tool: 'get_render_stats', runs: 100, args: () => ({}) },
];

console.log(
  `tenant: ${(await count(em, 'product', tenantId)).toLocaleString('en')} products, ${(await count(em, 'render_job', tenantId)).toLocaleString('en')} render jobs, ${(await count(em, 'render_order', tenantId)).toLocaleString('en')} orders`,
);
for (const c of cases) {
  const tool = defaultTools.get(c.tool)!;
  const times: number[] = [];
  for (let i = 0; i < c.runs + 10; i++) {
    const args = tool.parameters.parse(c.args(i));
    const t0 = performance.now();
    await tool.run({ turn, em: orm.em.fork(), log, now: () => new Date() }, args);
    if (i >= 10) times.push(performance.now() - t0); // the first runs warm caches and plans
  }
  console.log(
    `${c.tool.padEnd(18)} p50 ${pct(times, 50).toFixed(2).padStart(7)} ms   p95 ${pct(times, 95).toFixed(2).padStart(7)} ms   (${c.runs} runs)`,
  );
}

const category = process.env.BENCH_SELECTION_CATEGORY ?? 'Dichtungen';
const sel = await benchSelection(orm, turn, log, category);
const ms = (x: number) => `${x.toFixed(0)} ms`;
console.log(
  `create_order "all ${category}" (${sel.products.toLocaleString('en')} products): prepare (freeze selection) ${ms(sel.prepareMs)} · confirm → created & dispatched ${ms(sel.confirmMs)} ` +
    `(${sel.order.items.toLocaleString('en')} items, ${sel.order.jobs.toLocaleString('en')} render jobs, ${sel.order.queueJobs.toLocaleString('en')} queue jobs, one transaction)`,
);
console.log(
  `  the same while another conversation reads: ${ms(sel.confirmWithReadsMs)}; its ${sel.others.length} reads (search_products, list_orders, get_render_stats): p50 ${pct(sel.others, 50).toFixed(1)} ms, p95 ${pct(sel.others, 95).toFixed(1)} ms, max ${Math.max(0, ...sel.others).toFixed(1)} ms`,
);
for (const t of sel.onOrder)
  console.log(
    `  ${t.name.padEnd(38)} p50 ${pct(t.times, 50).toFixed(2).padStart(8)} ms   p95 ${pct(t.times, 95).toFixed(2).padStart(8)} ms   (${t.times.length} runs on the ${sel.order.items.toLocaleString('en')}-item order)`,
  );

const guard = await benchGuard();
console.log(`sql guard          ${(guard.perStatementMs * 1000).toFixed(0)} µs per statement`);

const window = await benchWindow(orm, tenantId);
console.log(
  `prompt tokens, 60-turn conversation: windowed ${window.windowed.toLocaleString('en')} vs last-50-verbatim ${window.naive.toLocaleString('en')} → ${((100 * window.windowed) / window.naive).toFixed(1)} %`,
);

console.log(
  `load average (1/5/15 min): ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')} on ${availableParallelism()} CPUs`,
);
await orm.close();
await stop();
process.exit(0);

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function count(em: EntityManager, table: string, tenant: string): Promise<number> {
  return (await row(em, countRow, `select count(*) as n from ${table} where tenant_id = ?`, [tenant]))?.n ?? 0;
}

async function ensureBenchTenant(em: EntityManager): Promise<string> {
  const existing = await row(em, idRow, `select id from tenant where slug = 'bench'`);
  if (existing && (await count(em, 'product', existing.id)) >= PRODUCTS) return existing.id;
  const id = existing?.id ?? (await createTenant(em, { slug: 'bench', name: 'Bench Lager AG' })).id;
  console.log(`seeding ${PRODUCTS.toLocaleString('en')} products and ${JOBS.toLocaleString('en')} render jobs (once)…`);
  const s = await seedBulk(em, id, { products: PRODUCTS, jobs: JOBS });
  console.log(`seeded in ${(s.ms / 1000).toFixed(1)} s`);
  await em.execute('vacuum analyze'); // sets the visibility map, so index-only scans work as in a settled database
  return id;
}

async function benchSession(em: EntityManager, tenant: string): Promise<string> {
  const session = await row(
    em,
    idRow,
    `insert into chat_session (tenant_id, platform, key) values (?, 'cli', 'bench:' || gen_random_uuid()) returning id`,
    [tenant],
  );
  return session!.id;
}
