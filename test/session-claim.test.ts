import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { findActiveSession, renewSession, resolveSession } from '../core/history/sessions.ts';
import { pendingItems, submitToSession } from '../core/queue/session-inbox.ts';
import { claimSession, claimWaiting, handBack } from '../core/queue/session-lease.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { rows } from './support/rows.ts';

/*
 * The statements a turn begins with (issue 21 item 7): the session found or created in one, and
 * the lease claim that also reads the session's pending items and starts a sole one; and that a
 * lease (a `session_lease` row) has one holder however claims race.
 */

let db: TestDatabase;
let acme: TenantFixture;
let globex: TenantFixture;
const em = () => db.orm.em.fork();

beforeAll(async () => {
  db = await createTestDatabase();
  acme = await makeTenant(em(), 'acme');
  globex = await makeTenant(em(), 'globex');
});
afterAll(async () => {
  await db.drop();
});

const submit = (sessionId: string, n: number) =>
  submitToSession(em(), { tenantId: acme.tenant.id, sessionId }, { task: 'test', payload: { n } });
const itemState = async (sessionId: string) =>
  rows(
    em(),
    z.object({ attempts: z.number(), startedBy: z.string().nullable() }),
    `select attempts, started_by as "startedBy" from turn_inbox where session_id = ? order by id`,
    [sessionId],
  );
const leaseOf = async (sessionId: string) =>
  rows(
    em(),
    z.object({ owner: z.string(), live: z.boolean() }),
    `select owner, expires_at > now() as live from session_lease where session_id = ?`,
    [sessionId],
  );
/** A lease a process that died left behind: its row is there, expired a second ago. */
const expiredLease = (sessionId: string, owner: string) =>
  em().execute(`insert into session_lease (session_id, owner, expires_at) values (?, ?, now() - interval '1 second')`, [
    sessionId,
    owner,
  ]);
/**
 * Resolves once a statement on `session_lease` waits for a lock. Polled: PostgreSQL sends no
 * event when a backend starts waiting.
 */
async function someoneWaitsOnALease(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const waiting = await rows(
      em(),
      z.object({ n: z.number() }),
      `select count(*)::int as n from pg_stat_activity
       where datname = current_database() and wait_event_type = 'Lock' and query like '%session_lease%'`,
    );
    if (waiting[0]!.n > 0) return;
    if (Date.now() > deadline) throw new Error('no claim waited on the lease');
    await sleep(10);
  }
}

describe('session find-or-create', () => {
  it('creates a thread’s session once, finds it again, keeps tenants apart and opens a fresh one after `new`', async () => {
    const created = await resolveSession(em(), acme.tenant.id, 'slack', 'T1:C1:1.0', 'U1');
    expect(created).toMatchObject({ tenantId: acme.tenant.id, platform: 'slack', key: 'T1:C1:1.0', title: null });
    expect(created.createdAt).toBeInstanceOf(Date);
    const again = await Promise.all(
      [1, 2, 3].map(() => resolveSession(em(), acme.tenant.id, 'slack', 'T1:C1:1.0', 'U2')),
    );
    expect(again.map((s) => s.id)).toEqual([created.id, created.id, created.id]);
    const other = await resolveSession(em(), globex.tenant.id, 'slack', 'T1:C1:1.0', 'U1');
    expect(other.id).not.toBe(created.id);
    await renewSession(em(), acme.tenant.id, created.id);
    const fresh = await resolveSession(em(), acme.tenant.id, 'slack', 'T1:C1:1.0', 'U1');
    expect(fresh.id).not.toBe(created.id);
    expect((await findActiveSession(em(), acme.tenant.id, 'slack', 'T1:C1:1.0'))?.id).toBe(fresh.id);
  });

  it('many first messages of one new thread at once make one session', async () => {
    const found = await Promise.all(
      Array.from({ length: 8 }, () => resolveSession(em(), acme.tenant.id, 'web', 'web:U1:race', 'U1')),
    );
    expect(new Set(found.map((s) => s.id)).size).toBe(1);
  });
});

describe('lease claim with the pending items', () => {
  it('a sole pending item comes with the claim, started for the claimer (one attempt)', async () => {
    const session = (await resolveSession(em(), acme.tenant.id, 'web', 'web:U1:one', 'U1')).id;
    const id = (await submit(session, 1))!;
    const claimed = await claimSession(em(), session, 'holder', 60_000);
    expect(claimed?.pending).toMatchObject({
      startedId: id,
      items: [{ id, task: 'test', payload: { n: 1 }, attempts: 1, started: true }],
    });
    expect(await itemState(session)).toEqual([{ attempts: 1, startedBy: 'holder' }]);
    // Handed back (a stopping process), the claim's start is not counted as an attempt.
    await handBack(em(), 'holder', [session]);
    expect(await itemState(session)).toEqual([{ attempts: 0, startedBy: null }]);
  });

  it('several pending items come in order and none is started: the drain decides which run together', async () => {
    const session = (await resolveSession(em(), acme.tenant.id, 'web', 'web:U1:two', 'U1')).id;
    const ids = [(await submit(session, 1))!, (await submit(session, 2))!];
    const claimed = await claimSession(em(), session, 'holder', 60_000);
    expect(claimed?.pending?.startedId).toBeNull();
    expect(claimed?.pending?.items.map((i) => [i.id, i.started, i.attempts])).toEqual([
      [ids[0], false, 0],
      [ids[1], false, 0],
    ]);
    expect(await itemState(session)).toEqual([
      { attempts: 0, startedBy: null },
      { attempts: 0, startedBy: null },
    ]);
    expect(claimed?.pending?.items).toEqual(await pendingItems(em(), session));
  });

  it('a session whose lease is held elsewhere is not claimed and its item not started', async () => {
    const session = (await resolveSession(em(), acme.tenant.id, 'web', 'web:U1:held', 'U1')).id;
    await submit(session, 1);
    expect(await claimSession(em(), session, 'first', 60_000)).toBeDefined();
    expect(await claimSession(em(), session, 'second', 60_000)).toBeUndefined();
    expect(await itemState(session)).toEqual([{ attempts: 1, startedBy: 'first' }]);
  });

  it('a lease a dead process left to expire is taken over, with its item', async () => {
    const session = (await resolveSession(em(), acme.tenant.id, 'web', 'web:U1:expired', 'U1')).id;
    const id = (await submit(session, 1))!;
    await expiredLease(session, 'dead');
    expect((await claimSession(em(), session, 'live', 60_000))?.pending?.startedId).toBe(id);
    expect(await leaseOf(session)).toEqual([{ owner: 'live', live: true }]);
    expect(await itemState(session)).toEqual([{ attempts: 1, startedBy: 'live' }]);
  });

  it('of two claims at once exactly one wins, whether the lease was absent or expired: the loser waits for the winner and finds its lease live', async () => {
    for (const before of ['absent', 'expired'] as const) {
      const session = (await resolveSession(em(), acme.tenant.id, 'web', `web:U1:race-${before}`, 'U1')).id;
      await submit(session, 1);
      if (before === 'expired') await expiredLease(session, 'dead');
      let second: Promise<unknown> | undefined;
      await em().transactional(async (tx) => {
        expect(await claimSession(tx, session, 'first', 60_000)).toBeDefined();
        second = claimSession(em(), session, 'second', 60_000);
        await someoneWaitsOnALease();
      });
      expect(await second).toBeUndefined();
      expect(await leaseOf(session)).toEqual([{ owner: 'first', live: true }]);
      expect(await itemState(session)).toEqual([{ attempts: 1, startedBy: 'first' }]);
    }
  });

  it('claims racing on many sessions, one at a time and in batches, give each session exactly one holder', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 12 }, async (_, n) => {
        const session = (await resolveSession(em(), globex.tenant.id, 'slack', `T1:C9:${n}.0`, 'U1')).id;
        await submitToSession(em(), { tenantId: globex.tenant.id, sessionId: session }, { task: 'test', payload: {} });
        if (n % 2) await expiredLease(session, 'dead');
        return session;
      }),
    );
    const scope = { excludePlatforms: ['web', 'cli', 'teams'] };
    const wins = await Promise.all([
      ...['a', 'b'].map(async (owner) =>
        (await claimWaiting(em(), owner, 60_000, 100, scope)).map((c) => ({ id: c.id, owner })),
      ),
      ...['c', 'd'].map(async (owner) => {
        const won = [];
        for (const id of sessions) if (await claimSession(em(), id, owner, 60_000, scope)) won.push({ id, owner });
        return won;
      }),
    ]);
    const claimed = wins.flat();
    expect(claimed.map((c) => c.id).sort()).toEqual([...sessions].sort());
    for (const { id, owner } of claimed) {
      expect(await leaseOf(id)).toEqual([{ owner, live: true }]);
      expect((await itemState(id)).map((i) => i.attempts)).toEqual([owner === 'c' || owner === 'd' ? 1 : 0]);
    }
  });
});
