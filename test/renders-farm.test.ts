import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../bot/app.ts';
import { renderRoutes } from '../bot/renders.ts';
import { startHttpServer } from '../bot/server.ts';
import { setTenantRenderer } from '../core/renders/backends.ts';
import { signFarmBody, verifyFarmSignature } from '../core/renders/signing.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, freePort, type TestDatabase, testConfig } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { jobsOf, orderStatus, submitOrder, waitFor } from './support/renders.ts';

const acmeSecret = 'acme-farm-secret-0123456789';
const globexSecret = 'globex-farm-secret-9876543210';

let db: TestDatabase;
let app: App;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;
let acme: TenantFixture;
let globex: TenantFixture;
let farm: Server;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  farm = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202, { 'content-type': 'application/json' }); // restify patches writeHead: no chaining
      res.end('{"accepted":true}');
    });
  });
  await new Promise<void>((r) => farm.listen(0, '127.0.0.1', r));
  const farmUrl = `http://127.0.0.1:${(farm.address() as { port: number }).port}/jobs`;

  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const config = testConfig(db, { PUBLIC_URL: base });
  const em = db.orm.em.fork();
  acme = await makeTenant(em, 'acme');
  globex = await makeTenant(em, 'globex');
  await setTenantRenderer(em, config.secretsKey, acme.tenant.id, { backend: 'http', url: farmUrl, secret: acmeSecret });
  await setTenantRenderer(em, config.secretsKey, globex.tenant.id, {
    backend: 'http',
    url: farmUrl,
    secret: globexSecret,
  });
  app = await createApp(config, silentLog, { worker: true });
  await app.start();
  http = await startHttpServer(app, port, renderRoutes(app));
});
afterAll(async () => {
  await http.close();
  await app.close();
  await new Promise((r) => farm.close(r));
  await db.drop();
});

/** Sends a farm callback, signed with `secret` at `timestamp` unless told otherwise. */
async function callback(
  body: Record<string, unknown>,
  o: { secret?: string; timestamp?: number; signature?: string | null } = {},
) {
  const raw = JSON.stringify(body);
  const ts = String(o.timestamp ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-renderbot-timestamp': ts };
  if (o.signature !== null)
    headers['x-renderbot-signature'] = o.signature ?? signFarmBody(o.secret ?? acmeSecret, ts, raw);
  const res = await fetch(`${base}/render/callback`, { method: 'POST', headers, body: raw });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('http backend (render farm connector)', () => {
  it('posts signed jobs to the farm; signed callbacks complete them; bad, stale, foreign and replayed callbacks change nothing', async () => {
    const order = await submitOrder(db.orm, acme.tenant.id, ['ACME-KL-6204', 'ACME-DI-20'], 'WebP 1024x1024', {
      background: 'black',
    });
    await waitFor(async () => (received.length >= 2 ? true : undefined), 'two farm requests');
    const jobs = await jobsOf(db.orm.em.fork(), order.orderId);
    expect(jobs.map((j) => j.status)).toEqual(['running', 'running']);

    for (const r of received) {
      const ts = r.headers['x-renderbot-timestamp'] as string;
      expect(verifyFarmSignature(acmeSecret, ts, r.headers['x-renderbot-signature'] as string, r.body)).toBe('ok');
      expect(verifyFarmSignature(globexSecret, ts, r.headers['x-renderbot-signature'] as string, r.body)).toBe(
        'bad_signature',
      );
    }
    const sent = received
      .map((r) => JSON.parse(r.body) as Record<string, unknown>)
      .sort((x, y) =>
        String((x.product as { pim_id: string }).pim_id).localeCompare(
          String((y.product as { pim_id: string }).pim_id),
        ),
      );
    expect(sent[0]).toEqual({
      job_id: jobs[0]!.id,
      order_number: order.orderNumber,
      product: { pim_id: 'ACME-DI-20', name: 'ACME Wellendichtring 20x35x7', category: 'Dichtungen' },
      output_type: { name: 'WebP 1024x1024', format: 'webp', width: 1024, height: 1024 },
      material: 'NBR-Black',
      overrides: { background: 'black' },
      callback_url: `${base}/render/callback`,
    });
    const [di, kl] = jobs;

    // Rejected: missing, wrong, foreign-tenant and stale signatures; unknown jobs; malformed bodies.
    const done = { job_id: di!.id, status: 'completed', result_url: 'https://farm.example.com/r/di-20.webp' };
    expect((await callback(done, { signature: null })).status).toBe(401);
    expect((await callback(done, { signature: 'sha256=' + '0'.repeat(64) })).status).toBe(401);
    expect((await callback(done, { secret: globexSecret })).status).toBe(401);
    expect((await callback(done, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
    expect((await callback({ ...done, job_id: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
    expect((await callback({ job_id: di!.id, status: 'completed' })).status).toBe(400);
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[0]!.status).toBe('running');

    // Accepted once; a replay within the window is a no-op; a late 'running' does not move it back.
    expect(await callback({ job_id: di!.id, status: 'running' })).toEqual({ status: 200, body: { ok: true } });
    expect(await callback(done)).toEqual({ status: 200, body: { ok: true } });
    expect(await callback(done)).toEqual({ status: 200, body: { ok: true, duplicate: true } });
    expect((await callback({ job_id: di!.id, status: 'failed', error: 'late failure' })).status).toBe(200);
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[0]).toMatchObject({
      status: 'completed',
      result_url: done.result_url,
      error: null,
    });
    expect(await orderStatus(db.orm, order.orderId)).toBe('rendering');

    // The other job fails at the farm: the order ends failed with the reason.
    expect((await callback({ job_id: kl!.id, status: 'failed', error: 'mesh missing' })).status).toBe(200);
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[1]).toMatchObject({
      status: 'failed',
      error: 'mesh missing',
    });
    expect(await orderStatus(db.orm, order.orderId)).toBe('failed');
  });

  it('a completed callback that overtakes the running one completes the job; the order completes', async () => {
    const before = received.length;
    const order = await submitOrder(db.orm, globex.tenant.id, ['GLOBEX-KL-6204'], 'PNG 2048x2048');
    await waitFor(async () => (received.length > before ? true : undefined), 'the farm request');
    const [job] = await jobsOf(db.orm.em.fork(), order.orderId);
    const done = { job_id: job!.id, status: 'completed', result_url: 'https://farm.example.com/r/g.png' };
    expect((await callback(done)).status).toBe(401); // acme's secret is not globex's
    expect((await callback(done, { secret: globexSecret })).status).toBe(200);
    expect((await callback({ job_id: job!.id, status: 'running' }, { secret: globexSecret })).status).toBe(200);
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[0]).toMatchObject({
      status: 'completed',
      result_url: done.result_url,
    });
    expect(await orderStatus(db.orm, order.orderId)).toBe('completed');
  });
});
