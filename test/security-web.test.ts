import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { runCli } from './support/cli.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';

/*
 * Red-team findings on the web API (issue 12), each written as the attack: HTTP in, rows and
 * answers observed.
 */

let h: WebHarness;
let acme: TenantFixture;

beforeAll(async () => {
  h = await startWebHarness();
  acme = await makeTenant(h.em(), 'acme');
  await h.enableAi(acme.tenant.id);
});
afterAll(async () => { await h?.close(); });

const admin = (...args: string[]) => runCli(['admin', ...args], { DATABASE_URL: h.db.url, DATA_DIR: h.config.dataDir });

/** Has the model propose an order as `token`'s user; returns the pending action's id. */
async function proposeOrder(token: string): Promise<string> {
  h.llm.enqueue({ toolCalls: [{ name: 'create_order', arguments: { product_ids: [acme.productIds['ACME-KL-6204']], output_type_name: 'WebP 1024x1024', submit: true, material_override: null, render_overrides: null } }] });
  const res = await h.api('/api/chat/messages', { token, body: { message: 'Render 6204 as WebP' } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { response: { reply: { blocks: { type: string; actionId?: string }[] } } };
  return body.response.reply.blocks.find((b) => b.type === 'confirm')!.actionId!;
}

const orders = async () => (await h.em().execute(`select count(*)::int as n from render_order where tenant_id = ?`, [acme.tenant.id]))[0]!.n as number;

describe('a role change reaches existing tokens (issue 12 item 4)', () => {
  it('a user demoted with `admin user role` can no longer confirm with a token made while they were an operator', async () => {
    const dana = await h.token(acme.tenant.id, 'dana', 'operator');
    const actionId = await proposeOrder(dana);
    const demoted = await admin('user', 'role', '--tenant', 'acme', '--platform', 'web', '--user', 'dana', '--role', 'viewer');
    expect(demoted).toMatchObject({ code: 0, stdout: expect.stringContaining('dana on web is now viewer') });

    expect(await (await h.api('/api/me', { token: dana })).json()).toMatchObject({ user_id: 'dana', role: 'viewer' });
    const res = await h.api(`/api/actions/${actionId}/confirm`, { token: dana, body: {} });
    expect(res.status).toBe(403);
    expect(await orders()).toBe(0);
    const [action] = await h.em().execute(`select status from pending_action where id = ?`, [actionId]);
    expect(action).toEqual({ status: 'pending' });
    const listed = await admin('token', 'list', '--tenant', 'acme');
    expect(listed.stdout).toMatch(/dana\s+viewer/);
  }, 60_000);

  it('a promoted user\'s old token gets the new role at once', async () => {
    const vic = await h.token(acme.tenant.id, 'vic', 'viewer');
    expect(await (await h.api('/api/me', { token: vic })).json()).toMatchObject({ role: 'viewer' });
    await admin('user', 'role', '--tenant', 'acme', '--platform', 'web', '--user', 'vic', '--role', 'operator');
    expect(await (await h.api('/api/me', { token: vic })).json()).toMatchObject({ role: 'operator' });
  }, 60_000);

  it('a removed user\'s tokens stop working (401) and their pending action stays pending', async () => {
    const rita = await h.token(acme.tenant.id, 'rita', 'operator');
    const actionId = await proposeOrder(rita);
    const removed = await admin('user', 'remove', '--tenant', 'acme', '--platform', 'web', '--user', 'rita');
    expect(removed).toMatchObject({ code: 0, stdout: expect.stringContaining('Removed rita') });
    expect((await h.api('/api/me', { token: rita })).status).toBe(401);
    expect((await h.api(`/api/actions/${actionId}/confirm`, { token: rita, body: {} })).status).toBe(401);
    expect(await orders()).toBe(0);
    expect(await admin('user', 'remove', '--tenant', 'acme', '--platform', 'web', '--user', 'rita')).toMatchObject({ code: 2, stderr: expect.stringContaining('not a user of acme') });
  }, 60_000);
});
