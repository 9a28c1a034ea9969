/**
 * `npm run bench:files:zip`: the ZIP half of the files benchmark (issue 18). An order of
 * BENCH_ZIP_IMAGES rendered images (default 10,000 WebP tiles as the local renderer makes them)
 * is exported with `writeResultsZip` (core/exports/zip.ts) into a file; prints MB/s and the
 * process's RSS growth over the run (sampled every 20 ms), then `zip -r` of the same files
 * (default compression, and `-0` store-only like the export), measured in the same run. Targets:
 * at least 50 % of `zip -r`'s throughput, and memory that does not grow with the order.
 * Database: a fresh one on DATABASE_URL's server, else an embedded PostgreSQL; dropped afterwards.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { createOrm, migrate } from '../core/db/orm.ts';
import { writeResultsZip } from '../core/exports/zip.ts';
import { ensureOutputType } from '../core/pipeline/catalogue.ts';
import { localRenderPath } from '../core/renders/local.ts';
import { createRenderLinks } from '../core/renders/signing.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { createBenchDatabase } from './support/db.ts';

const IMAGES = Number(process.env.BENCH_ZIP_IMAGES ?? 10_000);
if (!Number.isInteger(IMAGES) || IMAGES <= 0)
  throw new Error(`BENCH_ZIP_IMAGES must be a positive whole number, got "${process.env.BENCH_ZIP_IMAGES}"`);
const MB = 1024 * 1024;

console.log(`bench:files:zip: ${IMAGES.toLocaleString('en')} rendered images → ZIP`);
const db = await createBenchDatabase(process.env.DATABASE_URL);
const dataDir = mkdtempSync(join(tmpdir(), 'renderbot-bench-zip-'));
try {
  const orm = await createOrm(db.url, { poolMax: 4 });
  await migrate(orm);
  const em = orm.em.fork();
  const tenant = await createTenant(em, { slug: 'bench', name: 'Bench' });
  const outputType = await ensureOutputType(em, tenant.id, {
    name: 'WebP 1024x1024',
    format: 'webp',
    width: 1024,
    height: 1024,
  });
  await em.execute(
    `insert into product (tenant_id, pim_id, name, category) select ?, 'BENCH-' || lpad(i::text, 6, '0'), 'Bench product ' || i, 'Bench' from generate_series(1, ?) i`,
    [tenant.id, IMAGES],
  );
  const [order] = (await em.execute(
    `insert into render_order (tenant_id, order_number, status, output_type_id) values (?, 'SA-2026-00001', 'completed', ?) returning id`,
    [tenant.id, outputType],
  )) as { id: string }[];
  await em.execute(
    `insert into order_item (tenant_id, order_id, product_id) select tenant_id, ?, id from product where tenant_id = ?`,
    [order!.id, tenant.id],
  );
  await em.execute(
    `insert into render_job (tenant_id, order_id, order_item_id, product_id, status, attempts, finished_at)
    select tenant_id, order_id, id, product_id, 'completed', 1, now() from order_item where order_id = ?`,
    [order!.id],
  );
  await em.execute(`update render_job set result_url = '/renders/' || id where order_id = ?`, [order!.id]);
  const jobs = (await em.execute(`select id from render_job where order_id = ?`, [order!.id])) as { id: string }[];

  // Tiles like the local renderer's: 1024×1024 WebP with some noise, so they do not compress further (as real renders do not).
  const variants = await Promise.all(
    Array.from({ length: 8 }, async (_, v) => {
      const noise = randomBytes(128 * 128 * 3);
      return sharp(noise, { raw: { width: 128, height: 128, channels: 3 } })
        .resize(1024, 1024, { kernel: 'nearest' })
        .webp({ quality: 80 + v, effort: 2 })
        .toBuffer();
    }),
  );
  const filesDir = join(dataDir, 'renders', tenant.id);
  for (let i = 0; i < jobs.length; i += 200) {
    await Promise.all(
      jobs.slice(i, i + 200).map(async (j, k) => {
        const file = localRenderPath(dataDir, tenant.id, j.id, 'webp');
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, variants[(i + k) % variants.length]!);
      }),
    );
  }
  // Written pages go to disk first, so neither the export nor zip -r pays for the setup's writeback.
  spawnSync('sync');
  const inputBytes = jobs.length ? (variants.reduce((n, v) => n + v.length, 0) / variants.length) * jobs.length : 0;
  console.log(
    `  ${jobs.length.toLocaleString('en')} files, ${(inputBytes / MB).toFixed(0)} MB on disk (average ${(inputBytes / jobs.length / 1024).toFixed(0)} KB)`,
  );

  // The export, into a file.
  const rss = () => process.memoryUsage().rss;
  const baseline = rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 20);
  const out = join(dataDir, 'export.zip');
  const started = performance.now();
  const sink = createWriteStream(out, { highWaterMark: 1024 * 1024 });
  const result = await writeResultsZip(
    em,
    dataDir,
    tenant.id,
    order!.id,
    createRenderLinks(randomBytes(32), 'https://bot.example.com'),
    new Date(),
    sink,
  );
  await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rss());
  const zipBytes = statSync(out).size;
  const ours = zipBytes / MB / seconds;
  console.log(
    `  export_results zip: ${result.images.toLocaleString('en')} images, ${(zipBytes / MB).toFixed(0)} MB in ${seconds.toFixed(2)} s = ${ours.toFixed(0)} MB/s; RSS ${(baseline / MB).toFixed(0)} MB → peak ${(peak / MB).toFixed(0)} MB (growth ${((peak - baseline) / MB).toFixed(0)} MB)`,
  );
  rmSync(out);

  const zipR = (args: string[], label: string) => {
    const target = join(dataDir, `zip-r-${label}.zip`);
    const t0 = performance.now();
    const r = spawnSync('zip', ['-q', ...args, '-r', target, '.'], { cwd: filesDir, stdio: 'inherit' });
    const s = (performance.now() - t0) / 1000;
    if (r.error || r.status !== 0) {
      console.log(`  zip -r ${label}: could not run zip (${r.error?.message ?? `exit ${r.status}`})`);
      return undefined;
    }
    const bytes = statSync(target).size;
    rmSync(target);
    const rate = bytes / MB / s;
    console.log(`  zip -r ${label}: ${(bytes / MB).toFixed(0)} MB in ${s.toFixed(2)} s = ${rate.toFixed(0)} MB/s`);
    return rate;
  };
  const deflate = zipR([], '(default)');
  zipR(['-0'], '-0 (store)');
  if (deflate) console.log(`  export throughput = ${((100 * ours) / deflate).toFixed(0)} % of zip -r (target ≥ 50 %)`);
  await orm.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  await db.drop();
}
