import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntakePool, type IntakePool } from '../core/db/intake-pool.ts';
import { createPendingAction } from '../core/actions/store.ts';
import { INTAKE_CACHE_TTL_MS } from '../core/cache.ts';
import { createIntake, type Intake, type PersonFacts } from '../core/conversations/intake.ts';
import { PERSON_FACTS_TTL_MS } from '../core/conversations/identify.ts';
import { createLinkCode, linkWorkspace } from '../core/tenancy/links.ts';
import { createTenant, type TenantRow } from '../core/tenancy/tenants.ts';
import { setUserRole } from '../core/tenancy/users.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTurn } from './support/fixtures.ts';
import { z } from 'zod';
import { rows } from './support/rows.ts';

let db: TestDatabase;
let intake: Intake;
let intakePool: IntakePool;
let clock = Date.parse('2026-03-02T10:00:00Z');
let acme: TenantRow;
let globex: TenantRow;
let seq = 0;
const em = () => db.orm.em.fork();
const fresh = (prefix: string) => `${prefix}${String(++seq).padStart(6, '0')}`;

/** A person whose platform lookup answers `facts` (undefined: cannot answer) and counts how often it was asked. */
function person(id: string, facts: PersonFacts | undefined | 'throws', extra: { guest?: boolean; name?: string } = {}) {
  const asked = { n: 0 };
  return {
    asked,
    person: {
      id,
      ...extra,
      lookup: async () => {
        asked.n++;
        if (facts === 'throws') throw new Error('users.info: ratelimited');
        return facts;
      },
    },
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  intakePool = createIntakePool(db.url);
  intake = createIntake({
    orm: db.orm,
    log: silentLog,
    now: () => new Date(clock),
    secretsKey: randomBytes(32),
    intakePool,
  });
  acme = await createTenant(em(), { slug: 'acme', name: 'Acme GmbH' });
  globex = await createTenant(em(), { slug: 'globex', name: 'Globex' });
});
afterAll(async () => {
  await intakePool?.end();
  await db?.drop();
});

describe('identify: workspace → tenant, person → role (docs/design.md §2)', () => {
  it('an unlinked workspace identifies nobody and asks the platform nothing', async () => {
    const p = person('U1', { guest: false });
    expect(await intake.identify('slack', { id: fresh('T') }, p.person)).toBeUndefined();
    expect(p.asked.n).toBe(0);
  });

  it('members are operators; guests, people from another workspace and people the platform cannot vouch for are viewers', async () => {
    const team = fresh('T');
    await linkWorkspace(em(), acme.id, 'slack', team);
    const cases: [string, ReturnType<typeof person>, string][] = [
      ['member', person(fresh('U'), { guest: false, homeWorkspace: team, name: 'Dana' }), 'operator'],
      ['guest', person(fresh('U'), { guest: true, homeWorkspace: team }), 'viewer'],
      ['Slack Connect', person(fresh('U'), { guest: false, homeWorkspace: 'T0OTHERORG' }), 'viewer'],
      ['lookup cannot answer', person(fresh('U'), undefined), 'viewer'],
      ['lookup fails', person(fresh('U'), 'throws'), 'viewer'],
      ['the event says guest', person(fresh('U'), { guest: false }, { guest: true }), 'viewer'],
      // Teams: a member by the activity whose roster cannot be read stays a member.
      ['event says member, no roster', person(fresh('U'), undefined, { guest: false }), 'operator'],
    ];
    for (const [label, p, role] of cases) {
      const who = await intake.identify('slack', { id: team }, p.person, { fresh: true });
      expect({ label, role: who?.role }).toEqual({ label, role });
      expect(who).toMatchObject({
        tenantId: acme.id,
        tenant: { id: acme.id, slug: 'acme', name: 'Acme GmbH' },
        userId: p.person.id,
        platform: 'slack',
      });
    }
    expect(cases[5]![1].asked.n).toBe(0); // a guest by the event is never looked up
    const [row] = await rows(
      em(),
      z.object({ display_name: z.string() }),
      `select display_name from tenant_user where tenant_id = ? and external_user_id = ?`,
      [acme.id, cases[0]![1].person.id],
    );
    expect(row!.display_name).toBe('Dana');
  });

  it("an organisation's link counts for its workspaces; a role an admin set is kept", async () => {
    const org = fresh('E');
    await linkWorkspace(em(), globex.id, 'slack', org);
    const user = fresh('U');
    await setUserRole(em(), globex.id, 'slack', user, 'admin');
    const who = await intake.identify('slack', { id: fresh('T'), orgId: org }, person(user, { guest: true }).person, {
      fresh: true,
    });
    expect(who).toMatchObject({ tenantId: globex.id, role: 'admin' });
  });

  it('messages reuse link and role for the intake TTL, the platform answer for longer; decisions look up afresh', async () => {
    const team = fresh('T');
    await linkWorkspace(em(), acme.id, 'teams', team);
    const p = person(fresh('U'), { guest: false });
    expect((await intake.identify('teams', { id: team }, p.person))?.role).toBe('operator');
    await setUserRole(em(), acme.id, 'teams', p.person.id, 'viewer');
    expect((await intake.identify('teams', { id: team }, p.person))?.role).toBe('operator'); // cached
    expect((await intake.identify('teams', { id: team }, p.person, { fresh: true }))?.role).toBe('viewer');
    clock += INTAKE_CACHE_TTL_MS;
    expect((await intake.identify('teams', { id: team }, p.person))?.role).toBe('viewer');
    expect(p.asked.n).toBe(1);
    clock += PERSON_FACTS_TTL_MS;
    await intake.identify('teams', { id: team }, p.person, { fresh: true });
    expect(p.asked.n).toBe(2);
  });
});

describe('redeemLink', () => {
  it('links a workspace once; guests and external people cannot, and their attempt leaves the code usable', async () => {
    const team = fresh('T');
    const { code } = await createLinkCode(em(), globex.id, new Date());
    const guest = await intake.redeemLink(code, 'teams', { id: team }, person(fresh('U'), { guest: true }).person);
    expect(guest).toMatchObject({ ok: false, reason: 'guest' });
    const external = await intake.redeemLink(
      code,
      'slack',
      { id: team },
      person(fresh('U'), { guest: false, homeWorkspace: 'T0ELSEWHERE' }).person,
    );
    expect(external).toMatchObject({ ok: false, reason: 'guest' });
    expect(await intake.tenantOf('teams', { id: team })).toBeUndefined();
    const member = person(fresh('U'), { guest: false, homeWorkspace: team }).person;
    expect(await intake.redeemLink(code, 'teams', { id: team }, member)).toEqual({
      ok: true,
      tenant: { id: globex.id, slug: 'globex', name: 'Globex' },
    });
    expect(await intake.tenantOf('teams', { id: team })).toEqual({ id: globex.id, slug: 'globex', name: 'Globex' });
    const again = await intake.redeemLink(
      code,
      'teams',
      { id: fresh('T') },
      person(fresh('U'), { guest: false }).person,
    );
    expect(again).toMatchObject({
      ok: false,
      reason: 'refused',
      message: expect.stringMatching(/unknown, already used or expired/),
    });
  });
});

describe('sessions and cards', () => {
  it('sessionFor finds a thread’s session, and opens it only when asked to', async () => {
    const thread = { tenantId: acme.id, platform: 'slack' as const, key: `T1:C1:${fresh('')}` };
    expect(await intake.sessionFor(thread, 'U1', { create: false })).toBeUndefined();
    const id = await intake.sessionFor(thread, 'U1', { create: true });
    expect(await intake.sessionFor(thread, 'U2', { create: false })).toBe(id);
    expect(await intake.sessionFor({ ...thread, tenantId: globex.id }, 'U1', { create: false })).toBeUndefined();
  });

  it('actionCard shows a pending action’s card to its own tenant only', async () => {
    const turn = await makeTurn(em(), acme.id);
    const action = await createPendingAction(
      em(),
      turn,
      [{ toolCallId: 'c1', tool: 'cancel_order', args: {}, step: { title: 'Cancel order', details: [] } }],
      new Date(),
    );
    const card = (await intake.actionCard(acme.id, action.id))!;
    expect(card.blocks).toContainEqual(
      expect.objectContaining({ type: 'confirm', actionId: action.id, status: 'pending' }),
    );
    expect(await intake.actionCard(globex.id, action.id)).toBeUndefined();
  });
});
