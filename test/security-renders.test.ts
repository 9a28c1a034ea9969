import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../bot/app.ts';
import { renderRoutes } from '../bot/renders.ts';
import { startHttpServer } from '../bot/server.ts';
import { setTenantRenderer } from '../core/renders/backends.ts';
import { startFakeFarm, type FakeFarm } from './fakes/render-farm.ts';
import { runCli } from './support/cli.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, freePort, type TestDatabase, testConfig } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { jobsOf, submitOrder } from './support/renders.ts';

/*
 * Render results cannot carry script (issue 12 item 3), as the attack: a render farm (or whoever
 * holds its secret) reports hostile result URLs; what the bot stores and the page it serves are observed.
 */

const secret = 'acme-farm-secret-0123456789';
let db: TestDatabase;
let app: App;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;
let farm: FakeFarm;
let acme: TenantFixture;

beforeAll(async () => {
  farm = await startFakeFarm();
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const config = testConfig(db, { PUBLIC_URL: base });
  acme = await makeTenant(db.orm.em.fork(), 'acme');
  await setTenantRenderer(db.orm.em.fork(), config.secretsKey, acme.tenant.id, {
    backend: 'http',
    url: farm.url,
    secret,
  });
  app = await createApp(config, silentLog, { worker: true });
  await app.start();
  http = await startHttpServer(app, port, renderRoutes(app));
});
afterAll(async () => {
  await http?.close();
  await app?.close();
  await farm?.close();
  await db?.drop();
});

describe('render results cannot carry script (issue 12 item 3)', () => {
  it("a callback's result_url must be https: (http: only for a private-network farm); the results page has a strict CSP", async () => {
    const order = await submitOrder(db.orm, acme.tenant.id, ['ACME-KL-6204', 'ACME-KL-6205'], 'WebP 1024x1024');
    const [first, second] = await farm.jobs(2);
    const attacks = [
      'javascript:alert(document.domain)',
      'data:text/html,<script>alert(1)</script>',
      'file:///etc/passwd',
      'http://10.0.0.5/r.png',
    ];
    for (const result_url of attacks) {
      expect(await farm.callback(base, secret, { job_id: first!.job_id, status: 'completed', result_url })).toBe(400);
    }
    const jobs = await jobsOf(db.orm.em.fork(), order.orderId);
    expect(jobs.map((j) => [j.status, j.result_url])).toEqual([
      ['running', null],
      ['running', null],
    ]);

    // The tenant's admin declares the farm private: http: results are accepted, other schemes still are not.
    const cli = await runCli(
      [
        'admin',
        'tenant',
        'renderer',
        '--tenant',
        'acme',
        '--backend',
        'http',
        '--url',
        farm.url,
        '--secret',
        secret,
        '--private-network',
      ],
      { DATABASE_URL: db.url, DATA_DIR: app.config.dataDir },
    );
    expect(cli).toMatchObject({ code: 0, stdout: expect.stringContaining('private network') });
    expect(
      await farm.callback(base, secret, {
        job_id: first!.job_id,
        status: 'completed',
        result_url: 'javascript:alert(1)',
      }),
    ).toBe(400);
    expect(
      await farm.callback(base, secret, {
        job_id: first!.job_id,
        status: 'completed',
        result_url: 'http://10.0.0.5/r.png',
      }),
    ).toBe(200);
    expect(
      await farm.callback(base, secret, {
        job_id: second!.job_id,
        status: 'completed',
        result_url: 'https://cdn.example.com/r.png',
      }),
    ).toBe(200);

    // A row written before this check (or by hand) with a script URL is not linked; the page allows no script at all.
    await db.orm.em
      .fork()
      .execute(`update render_job set result_url = 'javascript:alert(1)' where id = ?`, [first!.job_id]);
    const res = await fetch(app.renderLinks.signedResultsUrl(order.orderId));
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/script-src|unsafe-inline/);
    const html = await res.text();
    expect(html).not.toContain('javascript:');
    expect(html).toContain('https://cdn.example.com/r.png');
  }, 60_000);
});
