import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../bot/app.ts';
import { renderRoutes } from '../bot/renders.ts';
import { startHttpServer } from '../bot/server.ts';
import { ensureOutputType } from '../core/pipeline/catalogue.ts';
import { localRenderPath, wrap } from '../core/renders/local.ts';
import { createRenderLinks } from '../core/renders/signing.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase, testConfig } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { jobsOf, submitOrder, waitForOrder } from './support/renders.ts';
import { z } from 'zod';
import { rows } from './support/rows.ts';

let db: TestDatabase;
let app: App;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;
let acme: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase();
  const config = testConfig(db);
  const em = db.orm.em.fork();
  acme = await makeTenant(em, 'acme');
  await ensureOutputType(em, acme.tenant.id, { name: 'JPEG 300x200', format: 'jpeg', width: 300, height: 200 });
  app = await createApp(config, silentLog, { worker: true });
  await app.start();
  http = await startHttpServer(app, 0, renderRoutes(app));
  base = `http://127.0.0.1:${http.port}`;
});
afterAll(async () => {
  await http.close();
  await app.close();
  await db.drop();
});

describe('local backend through the real worker', () => {
  it('renders real WebP files at the output type size; the order completes', async () => {
    const order = await submitOrder(db.orm, acme.tenant.id, ['ACME-KL-6204', 'ACME-DI-20'], 'WebP 1024x1024');
    expect(order.jobCount).toBe(2);
    await waitForOrder(db.orm, order.orderId, 'completed');
    const jobs = await jobsOf(db.orm.em.fork(), order.orderId);
    expect(jobs.map((j) => [j.status, j.attempts, j.result_url])).toEqual(
      jobs.map((j) => ['completed', 1, `/renders/${j.id}`]),
    );
    for (const j of jobs) {
      const file = localRenderPath(app.config.dataDir, acme.tenant.id, j.id, 'webp');
      const meta = await sharp(file).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 1024, 1024]);
    }
    const [row] = await rows(
      db.orm.em.fork(),
      z.object({ completed_at: z.string().nullable() }),
      `select completed_at from render_order where id = ?`,
      [order.orderId],
    );
    expect(row!.completed_at).not.toBeNull();
  });

  it('honours render overrides (size, background) for PNG and JPEG outputs', async () => {
    const png = await submitOrder(db.orm, acme.tenant.id, ['ACME-ZR-100'], 'PNG 2048x2048', {
      width: 320,
      height: 240,
      background: 'transparent',
    });
    const jpeg = await submitOrder(db.orm, acme.tenant.id, ['ACME-KL-6205'], 'JPEG 300x200', {
      background: '#1A2B3C',
      quality: 40,
    });
    await Promise.all([
      waitForOrder(db.orm, png.orderId, 'completed'),
      waitForOrder(db.orm, jpeg.orderId, 'completed'),
    ]);
    const [pj] = await jobsOf(db.orm.em.fork(), png.orderId);
    const pngMeta = await sharp(localRenderPath(app.config.dataDir, acme.tenant.id, pj!.id, 'png')).metadata();
    expect([pngMeta.format, pngMeta.width, pngMeta.height, pngMeta.hasAlpha]).toEqual(['png', 320, 240, true]);
    const [jj] = await jobsOf(db.orm.em.fork(), jpeg.orderId);
    const jpegFile = localRenderPath(app.config.dataDir, acme.tenant.id, jj!.id, 'jpeg');
    const jpegMeta = await sharp(jpegFile).metadata();
    expect([jpegMeta.format, jpegMeta.width, jpegMeta.height]).toEqual(['jpeg', 300, 200]);
    // The background override is visible in the corner pixel.
    const { data } = await sharp(jpegFile)
      .extract({ left: 1, top: 1, width: 1, height: 1 })
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(Math.abs(data[0]! - 0x1a) + Math.abs(data[1]! - 0x2b) + Math.abs(data[2]! - 0x3c)).toBeLessThan(24);
  });
});

describe('tile text layout', () => {
  it('wraps a long product name at spaces into two lines that fit, clipping the rest', () => {
    const name = 'ACME Rillenkugellager 6206 2RS mit beidseitiger Dichtung und erhöhter Lagerluft C3, vakuumverpackt';
    const lines = wrap(name, 25, 2);
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.length <= 25)).toBe(true);
    expect(lines[0]).toBe('ACME Rillenkugellager');
    expect(lines[1]!.endsWith('…')).toBe(true);
    expect(wrap('Short name', 25, 2)).toEqual(['Short name']);
    expect(wrap('Unbreakablewordthatgoesonandon', 10, 2)).toEqual(['Unbreakabl', 'ewordthat…']);
  });
});

describe('GET /renders/:id', () => {
  it('serves a file through a signed link; tampered, expired, unsigned → 403; unknown → 404', async () => {
    const order = await submitOrder(db.orm, acme.tenant.id, ['ACME-KL-6206'], 'WebP 1024x1024');
    await waitForOrder(db.orm, order.orderId, 'completed');
    const [job] = await jobsOf(db.orm.em.fork(), order.orderId);
    const link = app.renderLinks.signedRenderUrl(job!.id);
    const ok = await fetch(`${base}${link}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/webp');
    const body = Buffer.from(await ok.arrayBuffer());
    expect(body.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(body.subarray(8, 12).toString('latin1')).toBe('WEBP');
    expect((await sharp(body).metadata()).width).toBe(1024);

    const tampered = link.replace(/sig=([0-9a-f])/, (_m, c: string) => `sig=${c === '0' ? '1' : '0'}`);
    expect((await fetch(`${base}${tampered}`)).status).toBe(403);
    const laterExp = link.replace(/exp=(\d+)/, (_m, e: string) => `exp=${Number(e) + 1000}`);
    expect((await fetch(`${base}${laterExp}`)).status).toBe(403);
    expect((await fetch(`${base}/renders/${job!.id}`)).status).toBe(403);
    const expired = await fetch(`${base}${app.renderLinks.signedRenderUrl(job!.id, -5)}`);
    expect(expired.status).toBe(403);
    expect(await expired.json()).toMatchObject({ error: { code: 'expired' } });
    // A link signed with another install's key is refused.
    const foreign = createRenderLinks(Buffer.alloc(32, 7)).signedRenderUrl(job!.id);
    expect((await fetch(`${base}${foreign}`)).status).toBe(403);
    // Validly signed but unknown ids → 404.
    expect(
      (await fetch(`${base}${app.renderLinks.signedRenderUrl('00000000-0000-4000-8000-000000000000')}`)).status,
    ).toBe(404);
    expect((await fetch(`${base}${app.renderLinks.signedRenderUrl('not-a-uuid')}`)).status).toBe(404);
    expect(existsSync(localRenderPath(app.config.dataDir, acme.tenant.id, job!.id, 'webp'))).toBe(true);
  });
});
