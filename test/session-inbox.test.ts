import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSession } from '../core/history/sessions.ts';
import { nextGroup } from '../core/conversations/drain.ts';
import { createNotifications } from '../core/queue/notifications.ts';
import { finishItems, pendingItems, startItems, submitToSession, type InboxRow } from '../core/queue/session-inbox.ts';
import { claimSession } from '../core/queue/session-lease.ts';
import { startTurnRunner, TENANT_HEADROOM, type SessionDrain, type TurnRunner } from '../core/queue/turn-runner.ts';
import pg from 'pg';
import { z } from 'zod';
import { row } from '../core/db/sql.ts';
import { countOf, rows } from './support/rows.ts';
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

type Ran = { session: string; n: number; start: number; end: number; owner: string };

/**
 * A drain that runs one item at a time like the real one (start, work, finish) and records when
 * each ran and in which runner; resolves `done` after `total` items.
 */
function recorder(
  total: number,
  work: (n: number, signal: AbortSignal) => Promise<void> = async () => {
    await sleep(Math.random() * 8);
  },
) {
  const ran: Ran[] = [];
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const drainFor =
    (owner: () => string): SessionDrain =>
    async (sessionId, lease) => {
      const { signal } = lease;
      while (!signal.aborted) {
        const [item] = await pendingItems(db.orm.em.fork(), sessionId, 1);
        if (!item) return;
        await startItems(db.orm.em.fork(), [item.id], lease.owner);
        const { n } = item.payload as { n: number };
        const start = performance.now();
        await work(n, signal);
        if (signal.aborted) return;
        ran.push({ session: sessionId, n, start, end: performance.now(), owner: owner() });
        const { released } = await finishItems(db.orm.em.fork(), [item.id], [], { sessionId, owner: lease.owner });
        if (ran.length >= total) finish();
        // The last item's finish gave the lease up: the session is no longer this runner's.
        if (released) return true;
      }
    };
  return { ran, done, drainFor };
}

async function newSession(key: string): Promise<string> {
  return (await resolveSession(db.orm.em.fork(), acme.tenant.id, 'web', `inbox:${key}:${Math.random()}`, 'alice')).id;
}

const submit = (sessionId: string, n: number, eventId?: string) =>
  submitToSession(
    db.orm.em.fork(),
    { tenantId: acme.tenant.id, sessionId },
    { task: 'step', payload: { session: sessionId, n } },
    eventId ? { platform: 'web', eventId } : undefined,
  );

const runners: TurnRunner[] = [];
function runner(drain: SessionDrain, o: { leaseMs?: number; concurrency?: number; notify?: boolean } = {}) {
  const notifications = o.notify === false ? undefined : createNotifications(db.url, silentLog);
  const r = startTurnRunner({
    orm: db.orm,
    log: silentLog,
    drain,
    concurrency: o.concurrency ?? 50,
    leaseMs: o.leaseMs ?? 30_000,
    pollMs: 200,
    ...(notifications ? { notifications } : {}),
  });
  runners.push(r);
  return {
    runner: r,
    stop: async (graceMs?: number) => {
      await r.stop(graceMs);
      await notifications?.close();
    },
  };
}

/** Waits until `check()` holds, looking every 10 ms (in-process state that has no event of its own). */
async function waitUntil(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await sleep(10);
  }
}

const pending = async (sessionId: string) =>
  countOf(db.orm.em.fork(), `select count(*)::int as n from turn_inbox where session_id = ? and done_at is null`, [
    sessionId,
  ]);
const attemptsRow = z.object({ attempts: z.number() });
const ownerRow = z.object({ owner: z.string() });

describe('session inbox driven by leases (docs/design.md §4)', () => {
  it('runs each session’s items one at a time and in order, across two runners (processes), holding no connection while items wait', async () => {
    const sessions = await Promise.all([1, 2, 3, 4, 5].map((i) => newSession(`order${i}`)));
    const perSession = 12;
    const rec = recorder(sessions.length * perSession);
    const owners: string[] = [];
    const a = runner(rec.drainFor(() => owners[0]!));
    const b = runner(rec.drainFor(() => owners[1]!));
    owners.push(a.runner.owner, b.runner.owner);
    try {
      // Items arrive while drains already run, interleaved across sessions.
      for (let n = 0; n < perSession; n++) {
        for (const s of sessions) await submit(s, n);
        if (n % 3 === 0) await sleep(5);
      }
      await rec.done;
    } finally {
      await a.stop();
      await b.stop();
    }
    for (const s of sessions) {
      const mine = rec.ran.filter((r) => r.session === s);
      expect(mine.map((r) => r.n)).toEqual([...Array(perSession).keys()]);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.start).toBeGreaterThanOrEqual(mine[i - 1]!.end);
    }
    // Different sessions did run side by side, and both processes drove some.
    const overlaps = rec.ran.some((x) =>
      rec.ran.some((y) => x.session !== y.session && x.start < y.end && y.start < x.end),
    );
    expect(overlaps).toBe(true);
    expect(new Set(rec.ran.map((r) => r.owner)).size).toBe(2);
    expect(await countOf(db.orm.em.fork(), `select count(*)::int as n from turn_inbox where done_at is null`)).toBe(0);
    expect(await countOf(db.orm.em.fork(), `select count(*)::int as n from session_lease`)).toBe(0);
  });

  it('queues a platform event exactly once, also when its redeliveries race', async () => {
    const session = await newSession('dedup');
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => submit(session, 0, 'Ev-race-1')));
    expect(results.filter(Boolean)).toHaveLength(1);
    const rec = recorder(1);
    const r = runner(rec.drainFor(() => 'a'));
    try {
      await rec.done;
      expect(await submit(session, 0, 'Ev-race-1')).toBeUndefined();
    } finally {
      await r.stop();
    }
    expect(rec.ran.map((x) => x.n)).toEqual([0]);
    expect(
      await countOf(db.orm.em.fork(), `select count(*)::int as n from turn_inbox where session_id = ?`, [session]),
    ).toBe(1);
  });

  it('finishing the last pending item gives the lease up in the same statement; with more pending, or for another holder, it does not', async () => {
    const session = await newSession('release');
    const first = (await submit(session, 1))!;
    const second = (await submit(session, 2))!;
    const leaseOwner = async () =>
      (await row(db.orm.em.fork(), ownerRow, 'select owner from session_lease where session_id = ?', [session]))?.owner;
    expect(await claimSession(db.orm.em.fork(), session, 'holder', 60_000)).toBeDefined();
    expect(await finishItems(db.orm.em.fork(), [first], [], { sessionId: session, owner: 'someone-else' })).toEqual({
      finished: 0,
      released: false,
    });
    expect(await finishItems(db.orm.em.fork(), [first], [], { sessionId: session, owner: 'holder' })).toEqual({
      finished: 1,
      released: false,
    });
    expect(await leaseOwner()).toBe('holder');
    expect(await finishItems(db.orm.em.fork(), [second], [], { sessionId: session, owner: 'holder' })).toEqual({
      finished: 1,
      released: true,
    });
    expect(await leaseOwner()).toBeUndefined();
  });

  it('takes over the sessions of a process that died once their lease expired, and resumes the item it had started', async () => {
    const session = await newSession('orphan');
    await submit(session, 0);
    await submit(session, 1);
    // A process took the session and started item 0, then died (no renewal, no release).
    expect(await claimSession(db.orm.em.fork(), session, 'dead-process', 600)).toMatchObject({
      id: session,
      tenantId: acme.tenant.id,
    });
    const [first] = await pendingItems(db.orm.em.fork(), session, 1);
    await startItems(db.orm.em.fork(), [first!.id], 'dead-process');
    const rec = recorder(2);
    const r = runner(
      rec.drainFor(() => 'live'),
      { notify: false },
    );
    try {
      await rec.done;
    } finally {
      await r.stop();
    }
    expect(rec.ran.map((x) => x.n)).toEqual([0, 1]);
    const items = await rows(
      db.orm.em.fork(),
      attemptsRow,
      `select attempts from turn_inbox where session_id = ? order by id`,
      [session],
    );
    expect(items).toEqual([{ attempts: 2 }, { attempts: 1 }]);
  });

  it('stop(): running items get the grace time; what is still running then is handed back uncounted, and another runner finishes it', async () => {
    const session = await newSession('handback');
    for (let n = 0; n < 3; n++) await submit(session, n);
    let release!: () => void;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    const first = recorder(3, async (n, signal) => {
      // Item 1 waits "on the model" until aborted.
      if (n === 1) await Promise.race([stuck, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
    });
    const a = runner(first.drainFor(() => 'a'));
    await waitUntil(() => first.ran.length >= 1);
    await a.stop(200);
    release();
    expect(first.ran.map((x) => x.n)).toEqual([0]);
    expect(await pending(session)).toBe(2);
    // Handed back: no lease, and item 1's start did not count as an attempt.
    expect(
      await rows(db.orm.em.fork(), ownerRow, `select owner from session_lease where session_id = ?`, [session]),
    ).toEqual([]);
    expect(
      await rows(
        db.orm.em.fork(),
        attemptsRow,
        `select attempts from turn_inbox where session_id = ? and done_at is null order by id`,
        [session],
      ),
    ).toEqual([{ attempts: 0 }, { attempts: 0 }]);
    const second = recorder(2);
    const b = runner(second.drainFor(() => 'b'));
    try {
      await second.done;
    } finally {
      await b.stop();
    }
    expect(second.ran.map((x) => x.n)).toEqual([1, 2]);
  });

  it('stops a session whose lease another process took over (this one stalled past the expiry)', async () => {
    const session = await newSession('stolen');
    await submit(session, 0);
    let abortSeen!: () => void;
    const aborted = new Promise<void>((resolve) => {
      abortSeen = resolve;
    });
    const rec = recorder(1, async (_n, signal) => {
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      abortSeen();
    });
    const a = runner(
      rec.drainFor(() => 'a'),
      { leaseMs: 600, notify: false },
    );
    await waitUntil(() => a.runner.inFlight() > 0);
    // Another process takes the session over, as it would after an expiry.
    await db.orm.em
      .fork()
      .execute(
        `update session_lease set owner = 'thief', expires_at = now() + interval '1 minute' where session_id = ?`,
        [session],
      );
    await aborted;
    await a.stop();
    expect(rec.ran).toEqual([]);
    expect(
      await rows(db.orm.em.fork(), ownerRow, `select owner from session_lease where session_id = ?`, [session]),
    ).toEqual([{ owner: 'thief' }]);
  });

  it('drives at most TURN_CONCURRENCY sessions at once in one process; the rest wait and are taken as slots free up', async () => {
    const sessions = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => newSession(`cap${i}`)));
    let running = 0;
    let most = 0;
    const rec = recorder(sessions.length, async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(30);
      running -= 1;
    });
    const r = runner(
      rec.drainFor(() => 'a'),
      { concurrency: 2 },
    );
    try {
      for (const s of sessions) await submit(s, 0);
      await rec.done;
    } finally {
      await r.stop();
    }
    expect(most).toBe(2);
    expect(rec.ran).toHaveLength(6);
  });
});

describe('fair and fenced', () => {
  it('a tenant with more waiting sessions than slots does not crowd another tenant out; a tenant never holds more than its model cap plus slack', async () => {
    const em = db.orm.em.fork();
    const flood = await makeTenant(em, 'flood');
    const quiet = await makeTenant(em, 'quiet');
    await em.execute(`update tenant set ai_max_concurrency = 2 where id = ?`, [flood.tenant.id]);
    const session = async (t: TenantFixture, key: string) =>
      (await resolveSession(db.orm.em.fork(), t.tenant.id, 'web', `fair:${key}:${Math.random()}`, 'alice')).id;
    const floodSessions = [];
    for (let i = 0; i < 30; i++) floodSessions.push(await session(flood, `f${i}`));
    const quietSession = await session(quiet, 'q');
    for (const s of floodSessions)
      await submitToSession(
        db.orm.em.fork(),
        { tenantId: flood.tenant.id, sessionId: s },
        { task: 'step', payload: { n: 0 } },
      );
    await submitToSession(
      db.orm.em.fork(),
      { tenantId: quiet.tenant.id, sessionId: quietSession },
      { task: 'step', payload: { n: 0 } },
    );
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const active = new Map<string, number>();
    let mostFlood = 0;
    const tenantOf = (id: string) => (id === quietSession ? 'quiet' : 'flood');
    const rec = recorder(31, async () => {
      await gate;
    });
    const r = runner(
      async (sessionId, lease) => {
        const t = tenantOf(sessionId);
        active.set(t, (active.get(t) ?? 0) + 1);
        mostFlood = Math.max(mostFlood, active.get('flood') ?? 0);
        try {
          await rec.drainFor(() => 'a')(sessionId, lease);
        } finally {
          active.set(t, active.get(t)! - 1);
        }
      },
      { concurrency: 40, notify: false },
    );
    try {
      // The quiet tenant's one session is driven while the flood's wait for their share.
      await waitUntil(() => (active.get('quiet') ?? 0) === 1 && (active.get('flood') ?? 0) === 2 + TENANT_HEADROOM);
      expect(r.runner.inFlight()).toBe(1 + 2 + TENANT_HEADROOM);
      release();
      await rec.done;
    } finally {
      release();
      await r.stop();
    }
    expect(mostFlood).toBe(2 + TENANT_HEADROOM);
    expect(rec.ran).toHaveLength(31);
  });

  it('stops driving a session whose lease could not be renewed in time (the database did not answer), and never marks its item done', async () => {
    const session = await newSession('unrenewed');
    await submit(session, 0);
    let stopSeen!: () => void;
    const stopped = new Promise<void>((resolve) => {
      stopSeen = resolve;
    });
    const rec = recorder(1, async (_n, signal) => {
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      stopSeen();
    });
    const r = runner(
      rec.drainFor(() => 'a'),
      { leaseMs: 900, notify: false },
    );
    await waitUntil(() => r.runner.inFlight() > 0);
    // Another connection holds the lease row: renewals wait on it, as they would on an unreachable database.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('select 1 from session_lease where session_id = $1 for update', [session]);
    try {
      await stopped;
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    await r.stop();
    expect(rec.ran).toEqual([]);
    expect(await pending(session)).toBe(1);
  });
});

describe('what one turn answers (docs/design.md §4 merging)', () => {
  const item = (
    id: number,
    text: string,
    o: { userId?: string; role?: string; task?: string; started?: boolean } = {},
  ): InboxRow => ({
    id: String(id),
    task: o.task ?? 'turn',
    attempts: o.started ? 1 : 0,
    started: o.started ?? false,
    progress: {},
    createdMs: 0,
    stoppedBy: null,
    payload: {
      text,
      delivery: { platform: 'web', target: {} },
      turn: {
        tenantId: acme.tenant.id,
        userId: o.userId ?? 'alice',
        role: o.role ?? 'operator',
        sessionId: acme.tenant.id,
        platform: 'web',
      },
    },
  });
  it('merges consecutive plain messages of one person; commands, other people and other tasks end the run', () => {
    expect(nextGroup([item(1, 'a'), item(2, 'b'), item(3, 'orders'), item(4, 'c')]).map((i) => i.id)).toEqual([
      '1',
      '2',
    ]);
    expect(nextGroup([item(1, 'a'), item(2, 'b', { userId: 'bob' })]).map((i) => i.id)).toEqual(['1']);
    expect(nextGroup([item(1, 'a'), item(2, 'b', { role: 'viewer' })]).map((i) => i.id)).toEqual(['1']);
    expect(nextGroup([item(1, 'confirm'), item(2, 'b')]).map((i) => i.id)).toEqual(['1']);
    expect(nextGroup([item(1, 'a'), item(2, 'x', { task: 'history_note' })]).map((i) => i.id)).toEqual(['1']);
  });
  it('resumes exactly the items an interrupted attempt had started, even when more arrived since', () => {
    expect(
      nextGroup([item(1, 'a', { started: true }), item(2, 'b', { started: true }), item(3, 'c')]).map((i) => i.id),
    ).toEqual(['1', '2']);
    expect(nextGroup([])).toEqual([]);
  });
});

afterAll(async () => {
  for (const r of runners) await r.stop(0).catch(() => {});
});
