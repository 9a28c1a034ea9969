import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findActiveSession, renewSession, resolveSession } from '../core/history/sessions.ts';
import { pendingItems, submitToSession } from '../core/queue/session-inbox.ts';
import { claimSession, handBack } from '../core/queue/session-lease.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';

/*
 * The statements a turn begins with (issue 21 item 7): the session found or created in one, and
 * the lease claim that also reads the session's pending items and starts a sole one.
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
  em().execute<{ attempts: number; startedBy: string | null }[]>(
    `select attempts, started_by as "startedBy" from turn_inbox where session_id = ? order by id`,
    [sessionId],
  );

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
});
