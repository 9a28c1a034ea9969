import { fork } from 'node:child_process';
import { scheduleNotices } from '../core/notices/schedule.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker } from '../core/queue/worker.ts';
import { createRenderTasks, type RenderBackend } from '../core/renders/task.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { jobsOf, orderStatus, submitOrder, waitForOrder } from './support/renders.ts';
import { countOf, rows } from './support/rows.ts';
import { idRow } from '../core/db/sql.ts';

let db: TestDatabase;
let acme: TenantFixture;
const deadAfterMs = 1500;

beforeAll(async () => {
  db = await createTestDatabase();
  acme = await makeTenant(db.orm.em.fork(), 'acme');
});
afterAll(async () => {
  await db.drop();
});

type ChildMessage = { type: 'ready'; workerId: string } | { type: 'started'; jobId: string };

describe('a queue worker killed mid-job', () => {
  it('has its job finished by another worker within seconds of its heartbeat going stale; live workers keep theirs; nothing runs twice', async () => {
    const crashed = await submitOrder(db.orm, acme.tenant.id, ['ACME-KL-6204'], 'WebP 1024x1024');
    const [crashedJob] = await jobsOf(db.orm.em.fork(), crashed.orderId);

    // Worker 1, a process of its own, claims the job and is killed with SIGKILL while rendering it.
    const child = fork(join(import.meta.dirname, 'support', 'hung-render-worker.ts'), [db.url, String(deadAfterMs)], {
      execPath: process.execPath,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const messages: ChildMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: ChildMessage) => {
        messages.push(m);
        if (m.type === 'started') resolve();
      });
      void exited.then(() => reject(new Error('the worker process exited before it started the job')));
    });
    const ready = messages.find((m): m is Extract<ChildMessage, { type: 'ready' }> => m.type === 'ready');
    expect(messages).toContainEqual({ type: 'started', jobId: crashedJob!.id });
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    expect((await jobsOf(db.orm.em.fork(), crashed.orderId))[0]).toMatchObject({ status: 'running', attempts: 1 });

    // Workers 2 and 3 live on; one of them runs a job that takes longer than the dead-after limit.
    const slow = await submitOrder(db.orm, acme.tenant.id, ['ACME-DI-20'], 'WebP 1024x1024');
    const runs = new Map<string, number>();
    const backend: RenderBackend = async (job) => {
      runs.set(job.product.pimId, (runs.get(job.product.pimId) ?? 0) + 1);
      if (job.product.pimId === 'ACME-DI-20') await new Promise((r) => setTimeout(r, 3 * deadAfterMs));
      return { kind: 'done', resultUrl: `/renders/${job.jobId}` };
    };
    const tasks = createRenderTasks({
      onOrderStatus: scheduleNotices,
      orm: db.orm,
      log: silentLog,
      secretsKey: randomBytes(32),
      dataDir: mkdtempSync(join(tmpdir(), 'renderbot-recovery-')),
      backendFor: () => backend,
    });
    const live: Worker[] = await Promise.all(
      [1, 2].map(() => startWorker({ url: db.url, tasks, log: silentLog, concurrency: 2, deadAfterMs })),
    );
    try {
      await waitForOrder(db.orm, crashed.orderId, 'completed', 20_000);
      const recoveredAfterMs = Date.now() - killedAt;
      await waitForOrder(db.orm, slow.orderId, 'completed', 20_000);
      // Stale after 1.5 s, a sweep at most ~0.5 s later, then graphile-worker's backoff for attempt 1 (e ≈ 2.7 s).
      expect(recoveredAfterMs).toBeLessThan(10_000);
    } finally {
      await Promise.all(live.map((w) => w.stop()));
    }

    expect(await jobsOf(db.orm.em.fork(), crashed.orderId)).toMatchObject([{ status: 'completed', attempts: 2 }]);
    expect(await jobsOf(db.orm.em.fork(), slow.orderId)).toMatchObject([{ status: 'completed', attempts: 1 }]);
    expect(Object.fromEntries(runs)).toEqual({ 'ACME-KL-6204': 1, 'ACME-DI-20': 1 });
    expect(await orderStatus(db.orm, crashed.orderId)).toBe('completed');
    const left = await countOf(db.orm.em.fork(), `select count(*)::int as n from graphile_worker.jobs`);
    expect(left).toBe(0);
    // The dead worker was forgotten by the sweep, the live ones by their clean stop.
    const registered = await rows(db.orm.em.fork(), idRow, `select id from queue_worker`);
    expect(ready?.workerId).toMatch(/^pool-/);
    expect(registered).toEqual([]);
  }, 60_000);
});
