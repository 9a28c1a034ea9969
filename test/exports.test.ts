import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rows } from './support/rows.ts';
import { createApp, type App } from '../bot/app.ts';
import { renderRoutes } from '../bot/renders.ts';
import { startHttpServer } from '../bot/server.ts';
import { thumbnailPath } from '../core/renders/thumbnails.ts';
import { exportResultsTool } from '../core/tools/export_results.ts';
import type { ToolDeps } from '../core/tools/tool.ts';
import { zipEntryName } from '../core/exports/zip.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, freePort, type TestDatabase, testConfig } from './support/db.ts';
import { finishedLocalOrder } from './support/exports.ts';
import { makeTenant, makeTurn, type TenantFixture } from './support/fixtures.ts';

/*
 * Results out as files (issue 18 item 3) and thumbnails (item 4), HTTP in and HTTP out: signed
 * export and thumbnail links are checked for tenant and expiry like the results page.
 */

let db: TestDatabase;
let app: App;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let acme: TenantFixture;
let globex: TenantFixture;

const hostile = [
  { pimId: 'EV-1', name: '=HYPERLINK("https://evil.example/x","click")', materialName: "+cmd|' /C calc'!A0" },
  { pimId: 'EV-2', name: '-2+3', materialName: '@SUM(A1:A9)' },
  { pimId: 'EV-3', name: '\tTabbed', materialName: '\rReturned' },
  { pimId: 'EV-4', name: 'Plain "quoted", name; with separators', materialName: null },
  { pimId: 'EV/../5', name: 'Slash id', materialName: 'Steel' },
];

beforeAll(async () => {
  db = await createTestDatabase();
  const port = await freePort();
  app = await createApp(testConfig(db, { PUBLIC_URL: `http://127.0.0.1:${port}` }), silentLog);
  await app.start();
  http = await startHttpServer(app, port, renderRoutes(app));
  const em = db.orm.em.fork();
  acme = await makeTenant(em, 'acme', { products: hostile.map((p) => ({ ...p, category: 'Evil' })) });
  globex = await makeTenant(em, 'globex');
});
afterAll(async () => {
  await http?.close();
  await app?.close();
  await db?.drop();
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const tile = (pimId: string) => Buffer.from(`image of ${pimId}`);

describe('export as CSV', () => {
  it('lists every item with status, signed result link and error; cells a spreadsheet would run as formulas are neutralised', async () => {
    const o = await finishedLocalOrder(
      db.orm.em.fork(),
      app.config.dataDir,
      acme.tenant.id,
      acme.outputTypeIds['WebP 1024x1024']!,
      'EV',
      tile,
      { 'EV-2': '=cmd|"/C calc"!A0 mesh missing' },
    );
    const res = await fetch(app.renderLinks.signedExportUrl(acme.tenant.id, o.orderId, 'csv'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${o.orderNumber}-results.csv"`);
    const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
    expect(text.startsWith('\uFEFF"PIM ID","Name","Material","Status","Result URL","Error"\r\n')).toBe(true);
    const table = parse(text.slice(1), { relax_quotes: false }) as string[][];
    const byId = Object.fromEntries(table.slice(1).map((r) => [r[0], r]));
    expect(table).toHaveLength(6);
    expect(byId['EV-1']!.slice(0, 4)).toEqual([
      'EV-1',
      '\'=HYPERLINK("https://evil.example/x","click")',
      "'+cmd|' /C calc'!A0",
      'completed',
    ]);
    expect(byId['EV-2']!).toEqual(['EV-2', "'-2+3", "'@SUM(A1:A9)", 'failed', '', '\'=cmd|"/C calc"!A0 mesh missing']);
    expect(byId['EV-3']!.slice(1, 3)).toEqual(["'\tTabbed", "'\rReturned"]);
    expect(byId['EV-4']!.slice(1, 3)).toEqual(['Plain "quoted", name; with separators', '']);
    // No cell of the file starts a formula.
    expect(table.flat().filter((c) => /^[=+\-@\t\r]/.test(c))).toEqual([]);
    // The result link is a working signed link to the file.
    const link = byId['EV-1']![4]!;
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/renders\/[0-9a-f-]{36}\?exp=\d+&sig=[0-9a-f]{64}$/);
    const image = await fetch(link);
    expect(image.status).toBe(200);
    expect(Buffer.from(await image.arrayBuffer()).toString()).toBe('image of EV-1');
  });

  it('refuses links that expired, were signed for another tenant, tampered with or name no order', async () => {
    const o = await finishedLocalOrder(
      db.orm.em.fork(),
      app.config.dataDir,
      acme.tenant.id,
      acme.outputTypeIds['WebP 1024x1024']!,
      'EV',
      tile,
    );
    const refusal = async (url: string) => {
      const res = await fetch(url);
      return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
    };
    const dayAgo = new Date(Date.now() - 24 * 3600 * 1000 - 1000);
    expect(await refusal(app.renderLinks.signedExportUrl(acme.tenant.id, o.orderId, 'csv', undefined, dayAgo))).toEqual(
      { status: 403, code: 'expired' },
    );
    expect(await refusal(app.renderLinks.signedExportUrl(acme.tenant.id, o.orderId, 'zip', undefined, dayAgo))).toEqual(
      { status: 403, code: 'expired' },
    );
    // Another tenant's link, pointed at acme's order: signed, but not for this order's tenant.
    expect(await refusal(app.renderLinks.signedExportUrl(globex.tenant.id, o.orderId, 'csv'))).toEqual({
      status: 403,
      code: 'bad_signature',
    });
    const good = app.renderLinks.signedExportUrl(acme.tenant.id, o.orderId, 'csv');
    expect(await refusal(good.replace('export.csv', 'export.zip'))).toEqual({ status: 403, code: 'bad_signature' });
    // One hex digit of the signature changed (to another digit, whatever it was).
    const tampered = good.replace(/sig=([0-9a-f])/, (_, d: string) => `sig=${d === '0' ? '1' : '0'}`);
    expect(tampered).not.toBe(good);
    expect(await refusal(tampered)).toMatchObject({ status: 403 });
    expect(await refusal(good.replace(o.orderId, randomUUID()))).toEqual({ status: 403, code: 'bad_signature' });
    expect(await refusal(good.replace(/exp=\d+/, `exp=${Math.floor(Date.now() / 1000) + 7 * 24 * 3600}`))).toEqual({
      status: 403,
      code: 'bad_signature',
    });
    expect((await fetch(good)).status).toBe(200);
  });
});

describe('export as ZIP', () => {
  it('a 2,000-image order streams as a ZIP of stored entries named by PIM id plus results.csv, with bounded memory', async () => {
    const em = db.orm.em.fork();
    const count = 2000;
    await em.execute(
      `insert into product (tenant_id, pim_id, name, category) select ?, 'BULK-' || lpad(i::text, 5, '0'), 'Bulk ' || i, 'Bulk' from generate_series(1, ?) i`,
      [globex.tenant.id, count],
    );
    const bytes = 64 * 1024;
    // Incompressible bytes, as rendered images are; the first bytes say whose image it is.
    const noise = randomBytes(bytes);
    const imageOf = (pimId: string) => Buffer.concat([Buffer.from(pimId), noise.subarray(pimId.length)]);
    const o = await finishedLocalOrder(
      em,
      app.config.dataDir,
      globex.tenant.id,
      globex.outputTypeIds['PNG 2048x2048']!,
      'BULK-',
      imageOf,
      { 'BULK-00007': 'mesh missing' },
    );

    const res = await fetch(app.renderLinks.signedExportUrl(globex.tenant.id, o.orderId, 'zip'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    // Live memory (after a collection, so garbage not yet collected does not count), sampled every 250 chunks.
    const live = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = live();
    let peak = 0;
    let chunks = 0;
    const file = join(app.config.dataDir, `download-${randomUUID()}.zip`);
    const body = Readable.fromWeb(res.body!);
    body.on('data', () => {
      if (++chunks % 250 === 0) peak = Math.max(peak, live() - before);
    });
    await pipeline(body, createWriteStream(file));
    const size = (await stat(file)).size;
    // 2,000 × 64 KiB (125 MiB) went through; the server and client together held a small part of it at
    // any time. The bound leaves room for what else this process does meanwhile (the app's workers, a
    // slow disk under load): an archive built in memory would need all 125 MiB.
    expect(size).toBeGreaterThan((count - 1) * bytes);
    expect(chunks).toBeGreaterThan(200);
    expect(peak).toBeLessThan(48 * 1024 * 1024);

    const entries = unzipSync(await readFile(file));
    await rm(file);
    const names = Object.keys(entries);
    expect(names).toHaveLength(count); // 1,999 images + results.csv
    expect(names.at(-1)).toBe('results.csv');
    expect(names.slice(0, 3).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^BULK-\d{5}\.png$/)]));
    expect(names).not.toContain('BULK-00007.png');
    expect(Buffer.from(entries['BULK-01234.png']!).equals(imageOf('BULK-01234'))).toBe(true);
    const csv = parse(Buffer.from(entries['results.csv']!).toString('utf8').slice(1)) as string[][];
    expect(csv).toHaveLength(count + 1);
    expect(csv.find((r) => r[0] === 'BULK-00007')).toEqual(['BULK-00007', 'Bulk 7', '', 'failed', '', 'mesh missing']);
  }, 120_000);

  it('export_results offers a ZIP of more than 65,535 images (Zip64), not the CSV instead', async () => {
    const em = db.orm.em.fork();
    const initech = await makeTenant(em, 'initech');
    const count = 65_600;
    await em.execute(
      `insert into product (tenant_id, pim_id, name, category) select ?, 'MANY-' || lpad(i::text, 5, '0'), 'Many ' || i, 'Many' from generate_series(1, ?) i`,
      [initech.tenant.id, count],
    );
    const [order] = await rows(
      em,
      z.object({ id: z.string(), order_number: z.string() }),
      `insert into render_order (tenant_id, order_number, status, output_type_id) values (?, 'SA-2026-99999', 'completed', ?) returning id, order_number`,
      [initech.tenant.id, initech.outputTypeIds['WebP 1024x1024']],
    );
    await em.execute(
      `insert into order_item (tenant_id, order_id, product_id) select tenant_id, ?, id from product where tenant_id = ? and starts_with(pim_id, 'MANY-')`,
      [order!.id, initech.tenant.id],
    );
    await em.execute(
      `insert into render_job (tenant_id, order_id, order_item_id, product_id, status, attempts, finished_at, result_url)
       select tenant_id, order_id, id, product_id, 'completed', 1, now(), '/renders/' || gen_random_uuid() from order_item where order_id = ?`,
      [order!.id],
    );
    const ctx: ToolDeps = {
      turn: await makeTurn(em, initech.tenant.id),
      em,
      log: silentLog,
      now: () => new Date(),
      renderLinks: app.renderLinks,
    };
    const result = await exportResultsTool.run(ctx, { order_id: order!.order_number, format: 'zip' });
    expect(result.data).toMatchObject({ format: 'zip', completed: count, file_name: 'SA-2026-99999-results.zip' });
    expect(result.blocks).toEqual([
      expect.objectContaining({ type: 'file', description: '65,600 rendered images named by PIM id, and results.csv' }),
    ]);
  }, 60_000);

  it('names entries by PIM id, spelling ids that are no safe file name safely and distinctly', () => {
    expect(zipEntryName('KL-6204', 'webp')).toBe('KL-6204.webp');
    const a = zipEntryName('EV/../5', 'png');
    const b = zipEntryName('EV_.._5', 'png');
    expect(a).toMatch(/^EV_\.\._5~[0-9a-f]{8}\.png$/);
    expect(b).toBe('EV_.._5.png');
    expect(zipEntryName('..', 'png')).toMatch(/^_~[0-9a-f]{8}\.png$/);
  });
});

describe('thumbnails', () => {
  it('serves a small WebP of a local render behind a tenant-signed, expiring link, made once and cached', async () => {
    const png = await sharp({ create: { width: 1024, height: 768, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    const o = await finishedLocalOrder(
      db.orm.em.fork(),
      app.config.dataDir,
      acme.tenant.id,
      acme.outputTypeIds['PNG 2048x2048']!,
      'EV-1',
      () => png,
    );
    const job = o.jobs[0]!;
    const url = app.renderLinks.signedThumbUrl(acme.tenant.id, job.id);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const thumb = Buffer.from(await res.arrayBuffer());
    expect(await sharp(thumb).metadata()).toMatchObject({ format: 'webp', width: 256, height: 192 });
    expect(thumb.length).toBeLessThan(png.length);
    const cached = thumbnailPath(app.config.dataDir, acme.tenant.id, job.id);
    const made = (await stat(cached)).mtimeMs;
    expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(thumb)).toBe(true);
    expect((await stat(cached)).mtimeMs).toBe(made);

    expect((await fetch(app.renderLinks.signedThumbUrl(globex.tenant.id, job.id))).status).toBe(403);
    expect((await fetch(app.renderLinks.signedThumbUrl(acme.tenant.id, job.id, -1))).status).toBe(403);
    expect((await fetch(app.renderLinks.signedThumbUrl(acme.tenant.id, randomUUID()))).status).toBe(403);
  });
});
