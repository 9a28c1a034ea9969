import { randomBytes } from 'node:crypto';
import { scheduleNotices } from '../core/notices/schedule.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobHelpers, Task } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rows } from './support/rows.ts';
import { setTenantRenderer } from '../core/renders/backends.ts';
import { handleFarmCallback } from '../core/renders/farm.ts';
import { farmTimeoutTaskName } from '../core/renders/farm-timeouts.ts';
import { claimJob } from '../core/renders/jobs.ts';
import { signFarmBody } from '../core/renders/signing.ts';
import { createRenderTasks, renderTaskName } from '../core/renders/task.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { jobsOf, orderStatus, submitOrder } from './support/renders.ts';

const farmSecret = 'acme-farm-secret-0123456789';
const secretsKey = randomBytes(32);
const t0 = Date.parse('2026-11-25T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);
const reason = 'render farm did not report back within 30 min';

let db: TestDatabase;
let acme: TenantFixture;
let tasks: Record<string, Task>;
let clock = at(0);

beforeAll(async () => {
  db = await createTestDatabase();
  acme = await makeTenant(db.orm.em.fork(), 'acme');
  await setTenantRenderer(db.orm.em.fork(), secretsKey, acme.tenant.id, {
    backend: 'http',
    url: 'https://farm.example.com/jobs',
    secret: farmSecret,
  });
  // A farm that accepts every job and never calls back on its own; 2 attempts, 30 min to report back.
  tasks = createRenderTasks({
    onOrderStatus: scheduleNotices,
    orm: db.orm,
    log: silentLog,
    secretsKey,
    dataDir: mkdtempSync(join(tmpdir(), 'renderbot-farm-timeout-')),
    maxAttempts: 2,
    farmTimeoutMinutes: 30,
    now: () => clock,
    backendFor: () => async () => ({ kind: 'submitted' }),
  });
});
afterAll(async () => {
  await db.drop();
});

const helpers = (attempts: number) => ({ job: { attempts } }) as unknown as JobHelpers;
/** One queue attempt of the render task for `job`, as a worker would run it. */
const runAttempt = (job: { id: string }) =>
  tasks[renderTaskName]!({ renderJobId: job.id, tenantId: acme.tenant.id }, helpers(1));
/** One run of the cron task. */
const sweep = () => tasks[farmTimeoutTaskName]!({}, helpers(1));
/** Render jobs of the order that are waiting on the queue, by render job id. */
async function queued(orderId: string): Promise<string[]> {
  const jobs = await rows(
    db.orm.em.fork(),
    z.object({ key: z.string() }),
    `select q.key from graphile_worker.jobs q join render_job j on j.id::text = q.key where j.order_id = ? order by q.key`,
    [orderId],
  );
  return jobs.map((r) => r.key);
}
/** Takes the order's jobs off the queue, as the queue does once their attempt ran. */
async function drainQueue(orderId: string): Promise<void> {
  await db.orm.em
    .fork()
    .execute(`select graphile_worker.remove_job(id::text) from render_job where order_id = ?`, [orderId]);
}
/** A signed farm callback at the current clock. */
async function callback(body: Record<string, unknown>) {
  const raw = JSON.stringify(body);
  const ts = String(Math.floor(clock.getTime() / 1000));
  return handleFarmCallback(
    db.orm.em.fork(),
    secretsKey,
    raw,
    { timestamp: ts, signature: signFarmBody(farmSecret, ts, raw) },
    scheduleNotices,
    clock,
  );
}

describe('farm jobs that never report back', () => {
  it('fail their attempt after RENDER_FARM_TIMEOUT_MINUTES, go back on the queue while attempts remain, then fail; the order is derived', async () => {
    const order = await submitOrder(
      db.orm,
      acme.tenant.id,
      ['ACME-DI-20', 'ACME-KL-6204', 'ACME-KL-6205'],
      'WebP 1024x1024',
    );
    const [di, a, b] = await jobsOf(db.orm.em.fork(), order.orderId);
    await drainQueue(order.orderId);
    for (const job of [di!, a!, b!]) await runAttempt(job);
    // A job running on a worker right now (no farm holds it) is never the sweep's business.
    const other = await submitOrder(db.orm, acme.tenant.id, ['ACME-ZR-100'], 'WebP 1024x1024');
    const [busy] = await jobsOf(db.orm.em.fork(), other.orderId);
    await db.orm.em
      .fork()
      .transactional((tx) => claimJob(tx, acme.tenant.id, busy!.id, { reclaimRunning: false, now: at(0) }));

    clock = at(20);
    expect(await callback({ job_id: di!.id, status: 'running' })).toMatchObject({ status: 200 });

    clock = at(29);
    await sweep();
    expect((await jobsOf(db.orm.em.fork(), order.orderId)).map((j) => j.status)).toEqual([
      'running',
      'running',
      'running',
    ]);

    clock = at(31);
    await sweep();
    expect(await jobsOf(db.orm.em.fork(), order.orderId)).toMatchObject([
      { pim_id: 'ACME-DI-20', status: 'running', attempts: 1, error: null }, // its 'running' callback restarted the clock
      { pim_id: 'ACME-KL-6204', status: 'queued', attempts: 1, error: reason, finished_at: null },
      { pim_id: 'ACME-KL-6205', status: 'queued', attempts: 1, error: reason, finished_at: null },
    ]);
    expect(await queued(order.orderId)).toEqual([a!.id, b!.id].sort());
    expect(await orderStatus(db.orm, order.orderId)).toBe('rendering');

    // The second attempt posts them again; the farm stays silent again.
    await drainQueue(order.orderId);
    for (const job of [a!, b!]) await runAttempt(job);
    clock = at(40);
    expect(
      await callback({ job_id: di!.id, status: 'completed', result_url: 'https://farm.example.com/r/di.webp' }),
    ).toMatchObject({ status: 200 });

    clock = at(62);
    await sweep();
    expect(await jobsOf(db.orm.em.fork(), order.orderId)).toMatchObject([
      { pim_id: 'ACME-DI-20', status: 'completed', attempts: 1 },
      { pim_id: 'ACME-KL-6204', status: 'failed', attempts: 2, error: reason, finished_at: expect.anything() },
      { pim_id: 'ACME-KL-6205', status: 'failed', attempts: 2, error: reason, finished_at: expect.anything() },
    ]);
    expect(await queued(order.orderId)).toEqual([]);
    expect(await orderStatus(db.orm, order.orderId)).toBe('failed');
    expect((await jobsOf(db.orm.em.fork(), other.orderId))[0]).toMatchObject({
      status: 'running',
      attempts: 1,
      error: null,
    });

    // A farm that reports after all changes nothing on a failed job.
    expect(
      await callback({ job_id: a!.id, status: 'completed', result_url: 'https://farm.example.com/r/a.webp' }),
    ).toMatchObject({ status: 200 });
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[1]).toMatchObject({ status: 'failed', error: reason });
  });
});
