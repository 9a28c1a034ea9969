import { randomBytes } from 'node:crypto';
import { scheduleNotices } from '../core/notices/schedule.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobHelpers } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker } from '../core/queue/worker.ts';
import { getOrderStatus } from '../core/pipeline/orders-read.ts';
import { createRenderTasks, renderTaskName, type RenderBackend } from '../core/renders/task.ts';
import type { RenderJobSpec } from '../core/renders/jobs.ts';
import { retryFailedRendersTool } from '../core/tools/retry_failed_renders.ts';
import type { WriteTool } from '../core/tools/tool.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, makeTurn, type TenantFixture } from './support/fixtures.ts';
import { jobsOf, orderStatus, submitOrder, waitForOrder } from './support/renders.ts';
import { countOf } from './support/rows.ts';

let db: TestDatabase;
let acme: TenantFixture;
const dataDir = mkdtempSync(join(tmpdir(), 'renderbot-exec-'));
const secretsKey = randomBytes(32);

beforeAll(async () => {
  db = await createTestDatabase();
  acme = await makeTenant(db.orm.em.fork(), 'acme');
});
afterAll(async () => {
  await db.drop();
});

/** The render tasks as the app builds them, every job going to `backend`. */
function renderTasks(backend: RenderBackend, maxAttempts?: number) {
  return createRenderTasks({
    onOrderStatus: scheduleNotices,
    orm: db.orm,
    log: silentLog,
    secretsKey,
    dataDir,
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
    backendFor: () => backend,
  });
}

/** `count` products of category Parts with PIM ids `<prefix>-000`, `<prefix>-001`, … */
function parts(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    pimId: `${prefix}-${String(i).padStart(3, '0')}`,
    name: `Part ${i}`,
    category: 'Parts',
    materialName: null,
  }));
}

/** Calls the render task as the queue would on attempt `attempt` of the queue job. */
function runTask(
  backend: RenderBackend,
  job: { id: string; tenant_id: string },
  attempt: number,
  maxAttempts = 3,
): Promise<void> {
  const tasks = renderTasks(backend, maxAttempts);
  return tasks[renderTaskName]!({ renderJobId: job.id, tenantId: job.tenant_id }, {
    job: { attempts: attempt },
  } as unknown as JobHelpers) as Promise<void>;
}
const ok: RenderBackend = async (job) => ({ kind: 'done', resultUrl: `/renders/${job.jobId}` });

describe('render task state machine (task called directly)', () => {
  it('a process killed mid-job loses nothing: the queue retry re-claims the running job; a duplicate first attempt does not', async () => {
    const order = await submitOrder(db.orm, acme.tenant.id, ['ACME-KL-6204'], 'WebP 1024x1024');
    const [job] = await jobsOf(db.orm.em.fork(), order.orderId);
    // Attempt 1 claims the job and then "dies": its backend never returns (the process was killed).
    let started!: () => void;
    const claimed = new Promise<void>((r) => {
      started = r;
    });
    void runTask(
      async () => {
        started();
        return new Promise<never>(() => {});
      },
      job!,
      1,
    );
    await claimed;
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[0]).toMatchObject({ status: 'running', attempts: 1 });
    // The same queue attempt delivered twice (another worker, same attempt number) must not run it again.
    let ranTwice = false;
    await runTask(
      async (j) => {
        ranTwice = true;
        return ok(j);
      },
      job!,
      1,
    );
    expect(ranTwice).toBe(false);
    // graphile-worker retries the dead attempt (attempt 2): the running job is claimed again and completes.
    await runTask(ok, job!, 2);
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[0]).toMatchObject({
      status: 'completed',
      attempts: 2,
      result_url: `/renders/${job!.id}`,
    });
    expect(await orderStatus(db.orm, order.orderId)).toBe('completed');
    // A late queue retry of a finished job changes nothing.
    await runTask(
      async () => {
        throw new Error('must not run');
      },
      job!,
      3,
    );
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[0]).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('an attempt that throws mid-way goes back to queued with its error and is rethrown; the last attempt fails for good', async () => {
    const order = await submitOrder(db.orm, acme.tenant.id, ['ACME-KL-6205', 'ACME-ZR-100'], 'WebP 1024x1024');
    const [a, b] = await jobsOf(db.orm.em.fork(), order.orderId);
    const boom: RenderBackend = async () => {
      throw new Error('GPU out of memory');
    };
    await expect(runTask(boom, a!, 1, 2)).rejects.toThrow('GPU out of memory');
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[0]).toMatchObject({
      status: 'queued',
      attempts: 1,
      error: 'GPU out of memory',
      finished_at: null,
    });
    expect(await orderStatus(db.orm, order.orderId)).toBe('rendering');
    await runTask(boom, a!, 2, 2); // last attempt: recorded as failed, not rethrown (the queue job is done)
    expect((await jobsOf(db.orm.em.fork(), order.orderId))[0]).toMatchObject({
      status: 'failed',
      attempts: 2,
      error: 'GPU out of memory',
    });
    expect(await orderStatus(db.orm, order.orderId)).toBe('rendering'); // b is still queued
    await runTask(ok, b!, 1, 2);
    expect(await orderStatus(db.orm, order.orderId)).toBe('failed');
  });
});

describe('two workers on one database', () => {
  it('run every job exactly once', async () => {
    const seen = new Map<string, number>();
    const backend: RenderBackend = async (job) => {
      seen.set(job.jobId, (seen.get(job.jobId) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 5));
      return { kind: 'done', resultUrl: `/renders/${job.jobId}` };
    };
    const tasks = renderTasks(backend);
    const products = parts('MANY', 40);
    const many = await makeTenant(db.orm.em.fork(), 'many', { products });
    const order = await submitOrder(
      db.orm,
      many.tenant.id,
      products.map((p) => p.pimId),
      'WebP 1024x1024',
    );
    const workers = await Promise.all(
      [1, 2].map(() => startWorker({ url: db.url, tasks, log: silentLog, concurrency: 3 })),
    );
    try {
      await waitForOrder(db.orm, order.orderId, 'completed', 30_000);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    expect(seen.size).toBe(40);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    const jobs = await jobsOf(db.orm.em.fork(), order.orderId);
    expect(jobs.every((j) => j.status === 'completed' && j.attempts === 1)).toBe(true);
  }, 60_000);
});

describe('orders whose last jobs finish at the same moment', () => {
  it('all derive to completed: the completion that skips deriving always leaves it to a sibling that derives later', async () => {
    // Jobs finish in lockstep, so the last two jobs of an order often complete concurrently.
    const backend: RenderBackend = async (job) => ({ kind: 'done', resultUrl: `/renders/${job.jobId}` });
    const tasks = renderTasks(backend);
    const products = parts('RACE', 60);
    const race = await makeTenant(db.orm.em.fork(), 'race', { products });
    const orders = [];
    for (let i = 0; i < 60; i += 3)
      orders.push(
        await submitOrder(
          db.orm,
          race.tenant.id,
          products.slice(i, i + 3).map((p) => p.pimId),
          'WebP 1024x1024',
        ),
      );
    const workers = await Promise.all(
      [1, 2].map(() => startWorker({ url: db.url, tasks, log: silentLog, concurrency: 4 })),
    );
    try {
      for (const order of orders) await waitForOrder(db.orm, order.orderId, 'completed', 30_000);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    const open = await countOf(
      db.orm.em.fork(),
      `select count(*)::int as n from render_job where tenant_id = ? and status <> 'completed'`,
      [race.tenant.id],
    );
    expect(open).toBe(0);
  }, 60_000);
});

describe('render jobs on a real worker', () => {
  let worker: Worker | undefined;
  afterAll(async () => {
    await worker?.stop();
  });

  it('retries with backoff, ends failed with the reason, bounds concurrency; retry_failed_renders then completes the order', async () => {
    let failing = true;
    let running = 0;
    let peak = 0;
    const calls: string[] = [];
    const backend: RenderBackend = async (job: RenderJobSpec) => {
      calls.push(job.product.pimId);
      running++;
      peak = Math.max(peak, running);
      try {
        await new Promise((r) => setTimeout(r, 30)); // hold the slot so parallel jobs overlap
        if (failing) throw new Error(`renderer crashed on ${job.product.pimId}`);
        return { kind: 'done', resultUrl: `/renders/${job.jobId}` };
      } finally {
        running--;
      }
    };
    const tasks = renderTasks(backend, 2);
    worker = await startWorker({ url: db.url, tasks, log: silentLog, concurrency: 2 });
    const products = ['ACME-KL-6204', 'ACME-KL-6205', 'ACME-KL-6206', 'ACME-ZR-100', 'ACME-DI-20'];
    const order = await submitOrder(db.orm, acme.tenant.id, products, 'WebP 1024x1024');
    await waitForOrder(db.orm, order.orderId, 'failed', 30_000);
    const jobs = await jobsOf(db.orm.em.fork(), order.orderId);
    expect(jobs.map((j) => [j.pim_id, j.status, j.attempts, j.error])).toEqual(
      products.sort().map((p) => [p, 'failed', 2, `renderer crashed on ${p}`]),
    );
    expect(calls).toHaveLength(10);
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBeGreaterThan(0);

    failing = false;
    const turn = await makeTurn(db.orm.em.fork(), acme.tenant.id);
    const tool = retryFailedRendersTool as unknown as WriteTool;
    const result = await db.orm.em
      .fork()
      .transactional((em) =>
        tool.run({ turn, em, log: silentLog, now: () => new Date() }, { order_id: order.orderNumber }),
      );
    expect(result.data).toMatchObject({ status: 'rendering', job_count: 5 });
    await waitForOrder(db.orm, order.orderId, 'completed', 30_000);
    const after = await jobsOf(db.orm.em.fork(), order.orderId);
    expect(after.filter((j) => j.status === 'completed')).toHaveLength(5);
    expect(after.filter((j) => j.status === 'failed')).toHaveLength(5); // the history of the first round stays
    // get_order_status counts each item's current job: the retried failures no longer count.
    const status = await getOrderStatus(db.orm.em.fork(), acme.tenant.id, order.orderNumber);
    expect(status).toMatchObject({
      status: 'completed',
      jobs: { completed: 5, failed: 0, queued: 0, running: 0 },
      progress: 1,
      failures: [],
    });
    expect(peak).toBeLessThanOrEqual(2);
  }, 60_000);
});
