import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmAction, cancelAction } from '../core/actions/decide.ts';
import type { Actor } from '../core/turn-scope.ts';
import { createPendingAction } from '../core/actions/store.ts';
import { defaultTools } from '../core/tools/index.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { createCoreHarness, silentLog, type CoreHarness } from './support/core.ts';
import type { TurnScope } from '../core/turn-scope.ts';
import { countOf, row, rows } from './support/rows.ts';
import { z } from 'zod';

let h: CoreHarness;
let acme: TenantFixture;
let globex: TenantFixture;
const deps = () => ({ orm: h.db.orm, log: silentLog, tools: defaultTools, now: () => new Date() });
const actor = (t: TenantFixture, userId: string, role: Actor['role'] = 'operator'): Actor => ({
  tenantId: t.tenant.id,
  userId,
  role,
  platform: 'cli',
});

beforeAll(async () => {
  h = await createCoreHarness();
  acme = await makeTenant(h.em(), 'acme');
  globex = await makeTenant(h.em(), 'globex');
});
afterAll(async () => {
  await h.close();
});

/** A pending create_order action for the tenant's Kugellager products, as the agent would store it. */
async function proposeOrder(t: TenantFixture, turn: TurnScope) {
  const ids = Object.entries(t.productIds)
    .filter(([pim]) => pim.includes('-KL-'))
    .map(([, id]) => id);
  const args = { product_ids: ids, output_type_name: 'WebP 1024x1024', submit: true };
  const tool = defaultTools.get('create_order')!;
  if (tool.kind !== 'write') throw new Error('create_order must be a write tool');
  const step = await tool.prepare(
    { turn, em: h.em(), log: silentLog, now: () => new Date() },
    tool.parameters.parse(args),
  );
  return createPendingAction(h.em(), turn, [{ toolCallId: 'call_1', tool: 'create_order', args, step }], new Date());
}
const orderCount = async (t: TenantFixture) =>
  countOf(h.em(), `select count(*)::int as n from render_order where tenant_id = ?`, [t.tenant.id]);

describe('confirmations', () => {
  it('two concurrent confirms execute the plan exactly once', async () => {
    const turn = await h.turn(acme.tenant.id);
    const action = await proposeOrder(acme, turn);
    const before = await orderCount(acme);
    const results = await Promise.all([
      confirmAction(deps(), actor(acme, 'alice'), action.id),
      confirmAction(deps(), actor(acme, 'bob'), action.id),
      confirmAction(deps(), actor(acme, 'carol'), action.id),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).every((r) => /already (confirmed|running)/.test(r.message))).toBe(true);
    expect(await orderCount(acme)).toBe(before + 1);
    const again = await confirmAction(deps(), actor(acme, 'alice'), action.id);
    expect(again).toMatchObject({
      ok: false,
      status: 'done',
      message: expect.stringMatching(/already confirmed by (alice|bob|carol)/),
    });
    expect(await orderCount(acme)).toBe(before + 1);
  });

  it('a viewer cannot confirm; an operator of the same tenant can', async () => {
    const turn = await h.turn(acme.tenant.id);
    const action = await proposeOrder(acme, turn);
    const refused = await confirmAction(deps(), actor(acme, 'victor', 'viewer'), action.id);
    expect(refused).toMatchObject({
      ok: false,
      status: 'pending',
      message: expect.stringMatching(/Only operators and admins/),
    });
    expect((await confirmAction(deps(), actor(acme, 'olga'), action.id)).ok).toBe(true);
  });

  it('another tenant cannot confirm or cancel, and learns nothing about the action', async () => {
    const turn = await h.turn(acme.tenant.id);
    const action = await proposeOrder(acme, turn);
    const before = await orderCount(acme);
    const foreign = await confirmAction(deps(), actor(globex, 'mallory', 'admin'), action.id);
    expect(foreign).toMatchObject({ ok: false, status: 'not_found' });
    expect(JSON.stringify(foreign)).not.toContain('Kugellager');
    expect((await cancelAction(deps(), actor(globex, 'mallory', 'admin'), action.id)).status).toBe('not_found');
    expect(await orderCount(acme)).toBe(before);
    expect(
      await row(h.em(), z.object({ status: z.string() }), `select status from pending_action where id = ?`, [
        action.id,
      ]),
    ).toEqual({
      status: 'pending',
    });
  });

  it('a cancelled action cannot be confirmed', async () => {
    const turn = await h.turn(acme.tenant.id);
    const action = await proposeOrder(acme, turn);
    expect(await cancelAction(deps(), actor(acme, 'alice'), action.id)).toMatchObject({
      ok: true,
      status: 'cancelled',
    });
    const late = await confirmAction(deps(), actor(acme, 'bob'), action.id);
    expect(late).toMatchObject({
      ok: false,
      status: 'cancelled',
      message: expect.stringMatching(/cancelled by alice/),
    });
  });

  it('an expired action cannot be confirmed and is marked expired', async () => {
    const turn = await h.turn(acme.tenant.id);
    const action = await proposeOrder(acme, turn);
    await h
      .em()
      .execute(`update pending_action set expires_at = now() - interval '1 second' where id = ?`, [action.id]);
    const before = await orderCount(acme);
    const late = await confirmAction(deps(), actor(acme, 'alice'), action.id);
    expect(late).toMatchObject({ ok: false, status: 'expired', message: expect.stringMatching(/expired/) });
    expect(late.reply.blocks[0]).toMatchObject({ type: 'confirm', status: 'expired' });
    expect(await orderCount(acme)).toBe(before);
  });

  it('a plan that fails when run changes nothing and is marked failed', async () => {
    const turn = await h.turn(acme.tenant.id);
    const action = await proposeOrder(acme, turn);
    // The output type disappears between the preview and the click.
    await h
      .em()
      .execute(`update output_type set name = 'Retired' where tenant_id = ? and name = 'WebP 1024x1024'`, [
        acme.tenant.id,
      ]);
    const before = await orderCount(acme);
    const failed = await confirmAction(deps(), actor(acme, 'alice'), action.id);
    await h
      .em()
      .execute(`update output_type set name = 'WebP 1024x1024' where tenant_id = ? and name = 'Retired'`, [
        acme.tenant.id,
      ]);
    expect(failed).toMatchObject({ ok: false, status: 'failed', message: expect.stringMatching(/WebP 1024x1024/) });
    expect(await orderCount(acme)).toBe(before);
    expect(
      await rows(h.em(), z.object({ outcome: z.string() }), `select outcome from audit_log where target = ?`, [
        action.id,
      ]),
    ).toEqual([{ outcome: 'failed' }]);
  });

  it('typed "confirm" with nothing pending says so', async () => {
    const turn = await h.turn(acme.tenant.id);
    const [reply] = await h.conversations.respond(turn, 'confirm');
    expect(reply!.blocks[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/nothing waiting/) });
  });
});
