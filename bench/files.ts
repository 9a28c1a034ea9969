/**
 * `npm run bench:files`: a 100,000-row XLSX and CSV of PIM ids (95,000 known, 5,000 unknown; half
 * the rows with a material column), generated here by the libraries. For each: parse + id-column
 * detection + match time and peak RSS growth, then store it, prepare create_order with
 * product_file (the selection is frozen) and confirm it → one order with its render jobs.
 * Uses DATABASE_URL when set, else the embedded PostgreSQL (database `renderbot_bench`). Targets
 * (printed beside the numbers): parse + match under 5 s, RSS growth under 300 MB. The ZIP export
 * half of the benchmark belongs to the exports (core/exports). Prints numbers; asserts nothing.
 */
import { join } from 'node:path';
import * as XLSX from '@e965/xlsx';
import { loadConfig } from '../core/config.ts';
import { confirmAction } from '../core/actions/decide.ts';
import { createPendingAction } from '../core/actions/store.ts';
import { ensureDatabase, startEmbeddedCluster } from '../core/db/embedded.ts';
import { createOrm, migrate } from '../core/db/orm.ts';
import { idRow, row } from '../core/db/sql.ts';
import { parseUpload } from '../core/files/parse.ts';
import { sniffFile } from '../core/files/sniff.ts';
import { storeFile } from '../core/files/store.ts';
import { createLogger } from '../core/logger.ts';
import { ensureOutputType } from '../core/pipeline/catalogue.ts';
import { installQueue } from '../core/queue/queue.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { defaultTools } from '../core/tools/index.ts';
import { needsApproval } from '../core/tools/tool.ts';
import { seedCategoryProducts } from '../bot/seed/bulk.ts';

const ROWS = 100_000;
const KNOWN = 95_000;
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
await installQueue(url);

const em = () => orm.em.fork();
const tenantId =
  (await row(em(), idRow, `select id from tenant where slug = 'bench-files'`))?.id ??
  (await createTenant(em(), { slug: 'bench-files', name: 'Bench Files AG' })).id;
await seedCategoryProducts(em(), tenantId, { category: 'Kugellager', count: KNOWN, prefix: 'BF' });
await ensureOutputType(em(), tenantId, { name: 'WebP 1024x1024', format: 'webp', width: 1024, height: 1024 });

const id = (i: number) => (i < KNOWN ? `BF-${String(i + 1).padStart(7, '0')}` : `XX-${i}`);
const table = [['PIM-ID', 'Material'], ...Array.from({ length: ROWS }, (_, i) => [id(i), i % 2 ? 'Steel-Bare' : ''])];
const csv = Buffer.from(table.map((r) => r.join(';')).join('\n'));
const book = XLSX.utils.book_new();
XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(table), 'Artikel');
const xlsx = XLSX.write(book, { type: 'buffer', bookType: 'xlsx', compression: true }) as Buffer;

const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
const session = await row(
  em(),
  idRow,
  `insert into chat_session (tenant_id, platform, key) values (?, 'cli', 'bench:' || gen_random_uuid()) returning id`,
  [tenantId],
);
const turn = { tenantId, userId: 'bench', role: 'operator' as const, sessionId: session!.id, platform: 'cli' as const };
const create = defaultTools.get('create_order')!;
if (!needsApproval(create)) throw new Error('create_order must need approval');

console.log(
  `bench:files — ${ROWS.toLocaleString('en-US')} rows (${KNOWN.toLocaleString('en-US')} known). Targets: parse + match < 5 s, RSS growth < 300 MB`,
);
for (const [name, bytes] of [
  ['products.csv', csv],
  ['products.xlsx', xlsx],
] as const) {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  let t0 = performance.now();
  const parsed = await parseUpload(em(), tenantId, name, bytes);
  const parseMs = performance.now() - t0;
  clearInterval(sampler);
  // The sampler cannot run while parsing blocks the thread: the process's peak RSS since start
  // (which may have been set earlier, by generating the files) bounds the growth from above.
  peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  const fileId = await storeFile(
    em(),
    { tenantId, platform: 'cli', userId: 'bench' },
    {
      name,
      kind: sniffFile(name, bytes),
      bytes,
      parsed,
      expiresAt: new Date(Date.now() + 3_600_000),
    },
  );
  const args = create.parameters.parse({ product_file: fileId, output_type_name: 'WebP 1024x1024' });
  t0 = performance.now();
  const { frozen, ...step } = await create.prepare({ turn, em: em(), log, now: () => new Date() }, args);
  const prepareMs = performance.now() - t0;
  const action = await createPendingAction(
    em(),
    turn,
    [{ toolCallId: 'bench', tool: 'create_order', args, step, ...(frozen ? { frozen } : {}) }],
    new Date(),
  );
  t0 = performance.now();
  const decision = await confirmAction(
    { orm, log, tools: defaultTools, now: () => new Date() },
    { ...turn },
    action.id,
  );
  const confirmMs = performance.now() - t0;
  const jobs = (decision.executed?.results[0]?.data as { job_count?: number } | undefined)?.job_count ?? 0;
  console.log(
    `${name.padEnd(14)} ${mb(bytes.byteLength).padStart(3)} MB  parse+match ${(parseMs / 1000).toFixed(2)} s (target < 5 s)  ` +
      `RSS growth ≤ ${mb(peak - rss0)} MB (target < 300 MB)  matched ${parsed.summary.matched.toLocaleString('en-US')}, unknown ${parsed.summary.unknown.toLocaleString('en-US')}  ` +
      `prepare ${(prepareMs / 1000).toFixed(2)} s  confirm → order ${(confirmMs / 1000).toFixed(2)} s (${jobs.toLocaleString('en-US')} jobs)`,
  );
  // The bench runs no worker: the order's queued render jobs go with it.
  await em().execute(
    `delete from graphile_worker._private_jobs where key in (select id::text from render_job where tenant_id = ?)`,
    [tenantId],
  );
  await em().execute(`delete from render_order where tenant_id = ?`, [tenantId]);
}
await orm.close();
await stop();
