import { setTimeout as sleep } from 'node:timers/promises';
import type { JobHelpers } from 'graphile-worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSession } from '../core/conversations/sessions.ts';
import { createSessionDrain, requeueWaiting, SESSION_DRAIN_TASK, submitToSession } from '../core/queue/session-inbox.ts';
import { startWorker, type Worker } from '../core/queue/worker.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';

let db: TestDatabase;
let acme: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase();
  acme = await makeTenant(db.orm.em.fork(), 'acme');
});
afterAll(async () => {
  await db.drop();
});

type Ran = { session: string; n: number; start: number; end: number };

/** Drain tasks whose `step` handler records when each item ran; resolves `done` after `total` items. */
function recorder(total: number) {
  const ran: Ran[] = [];
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => { finish = resolve; });
  const task = createSessionDrain({
    step: async (payload) => {
      const { session, n } = payload as { session: string; n: number };
      const start = performance.now();
      await sleep(Math.random() * 8);
      ran.push({ session, n, start, end: performance.now() });
      if (ran.length >= total) finish();
    },
  }, silentLog);
  return { ran, done, tasks: { [SESSION_DRAIN_TASK]: task } };
}

async function newSession(key: string): Promise<string> {
  return (await resolveSession(db.orm.em.fork(), acme.tenant.id, 'cli', `inbox:${key}:${Math.random()}`, 'alice')).id;
}

const submit = (sessionId: string, n: number, eventId?: string) =>
  submitToSession(db.orm.em.fork(), { tenantId: acme.tenant.id, sessionId }, { task: 'step', payload: { session: sessionId, n } }, eventId ? { platform: 'cli', eventId } : undefined);

describe('session inbox (DESIGN §4 ordering without named queues)', () => {
  it('runs each session’s items one at a time and in order, across two worker processes', async () => {
    const sessions = await Promise.all([1, 2, 3, 4, 5].map((i) => newSession(`order${i}`)));
    const perSession = 12;
    const rec = recorder(sessions.length * perSession);
    const workers: Worker[] = await Promise.all([1, 2].map(() => startWorker({ url: db.url, tasks: rec.tasks, log: silentLog, concurrency: 4 })));
    try {
      // Items arrive while drains already run, interleaved across sessions.
      for (let n = 0; n < perSession; n++) {
        for (const s of sessions) await submit(s, n);
        if (n % 3 === 0) await sleep(5);
      }
      await rec.done;
    } finally {
      for (const w of workers) await w.stop();
    }
    for (const s of sessions) {
      const mine = rec.ran.filter((r) => r.session === s);
      expect(mine.map((r) => r.n)).toEqual([...Array(perSession).keys()]);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.start).toBeGreaterThanOrEqual(mine[i - 1]!.end);
    }
    // Different sessions did run side by side.
    const overlaps = rec.ran.some((a) => rec.ran.some((b) => a.session !== b.session && a.start < b.end && b.start < a.end));
    expect(overlaps).toBe(true);
    expect(await db.orm.em.fork().execute(`select count(*)::int as n from turn_inbox`)).toEqual([{ n: 0 }]);
  });

  it('queues a platform event exactly once, also when its redeliveries race', async () => {
    const session = await newSession('dedup');
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => submit(session, 0, 'Ev-race-1')));
    expect(results.filter(Boolean)).toHaveLength(1);
    const rec = recorder(1);
    const worker = await startWorker({ url: db.url, tasks: rec.tasks, log: silentLog, concurrency: 2 });
    try {
      await rec.done;
      expect(await submit(session, 0, 'Ev-race-1')).toBe(false);
    } finally {
      await worker.stop(); // waits for running drains
    }
    // A wrongly queued redelivery would have run by now, or still wait in the inbox.
    expect(rec.ran.map((r) => r.n)).toEqual([0]);
    expect(await db.orm.em.fork().execute(`select count(*)::int as n from turn_inbox where session_id = ?`, [session])).toEqual([{ n: 0 }]);
  });

  it('hands a batch task every item of that task waiting right behind it, up to the next other task', async () => {
    const session = await newSession('batch');
    const add = (task: string, n: number) => submitToSession(db.orm.em.fork(), { tenantId: acme.tenant.id, sessionId: session }, { task, payload: n });
    // Queued before any worker runs, so the drain finds them all waiting.
    for (const [task, n] of [['talk', 1], ['talk', 2], ['talk', 3], ['note', 4], ['talk', 5]] as const) await add(task, n);
    const seen: (number | number[])[] = [];
    let finish!: () => void;
    const done = new Promise<void>((resolve) => { finish = resolve; });
    const record = (entry: number | number[]) => { seen.push(entry); if (seen.length === 3) finish(); };
    const drain = createSessionDrain({ note: async (p) => record(p as number) }, silentLog, { talk: async (ps) => record(ps as number[]) });
    const worker = await startWorker({ url: db.url, tasks: { [SESSION_DRAIN_TASK]: drain }, log: silentLog, concurrency: 2 });
    try {
      await done;
    } finally {
      await worker.stop();
    }
    expect(seen).toEqual([[1, 2, 3], 4, [5]]);
  });

  it('finds items a dead process left behind: requeueWaiting gives their session a drain job again', async () => {
    const session = await newSession('orphan');
    await submit(session, 0);
    await submit(session, 1);
    // The drain job was taken by a process that died (its lock and job are gone; the items stayed).
    await db.orm.em.fork().execute(`delete from graphile_worker._private_jobs`);
    expect(await requeueWaiting(db.orm.em.fork(), 3600)).toBe(0);
    expect(await requeueWaiting(db.orm.em.fork(), 0)).toBe(1);
    const rec = recorder(2);
    const worker = await startWorker({ url: db.url, tasks: rec.tasks, log: silentLog, concurrency: 2 });
    try {
      await rec.done;
    } finally {
      await worker.stop();
    }
    expect(rec.ran.map((r) => r.n)).toEqual([0, 1]);
  });

  it('stops after the running item when the worker aborts it, leaving the rest for the next start', async () => {
    const session = await newSession('stop');
    for (let n = 0; n < 5; n++) await submit(session, n);
    const ran: number[] = [];
    const ctl = new AbortController();
    const drain = createSessionDrain({
      step: async (payload) => {
        ran.push((payload as { n: number }).n);
        if (ran.length === 2) ctl.abort();
      },
    }, silentLog);
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const helpers = { abortSignal: ctl.signal, withPgClient: async <T>(fn: (c: pg.PoolClient) => Promise<T>) => {
        const client = await pool.connect();
        try { return await fn(client); } finally { client.release(); }
      } };
      await drain({ sessionId: session }, helpers as unknown as JobHelpers);
      expect(ran).toEqual([0, 1]);
      // The session lock was let go (this is the same pooled connection, so ask from another one).
      expect(await db.orm.em.fork().execute(`select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`)).toEqual([{ n: 0 }]);
    } finally {
      await pool.end();
    }
    expect(await requeueWaiting(db.orm.em.fork(), 0)).toBe(1);
    const rec = recorder(3);
    const worker = await startWorker({ url: db.url, tasks: rec.tasks, log: silentLog, concurrency: 2 });
    try {
      await rec.done;
    } finally {
      await worker.stop();
    }
    expect(rec.ran.map((r) => r.n)).toEqual([2, 3, 4]);
  });
});
