import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoreHarness, type CoreHarness } from './support/core.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { contextSummary, getSessionContext } from '../core/conversations/context.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';

let h: CoreHarness;
let acme: TenantFixture;
let orderNumber: string;

const systemOf = (req: FakeLlmRequest) => String(req.body.messages[0]?.content);

beforeAll(async () => {
  h = await createCoreHarness();
  acme = await makeTenant(h.em(), 'acme');
  await makeTenant(h.em(), 'globex');
  await h.enableAi(acme.tenant.id);
  const created = await createOrder(h.em(), acme.tenant.id, { products: { refs: ['ACME-KL-6204', 'ACME-KL-6205'] }, outputTypeName: 'WebP 1024x1024', submit: true, createdBy: 'seed', now: new Date() });
  orderNumber = created.orderNumber;
});
afterAll(async () => { await h.close(); });

describe('context summaries', () => {
  it('summarise an order and a product of the tenant; other tenants\' ids read as not found', async () => {
    expect(await contextSummary(h.em(), acme.tenant.id, { type: 'order', id: orderNumber }))
      .toMatch(new RegExp(`^order ${orderNumber} \\(id [0-9a-f-]{36}\\) — status rendering, output "WebP 1024x1024", 2 products; render jobs: 2 queued \\(0% finished\\)`));
    expect(await contextSummary(h.em(), acme.tenant.id, { type: 'product', id: 'ACME-KL-6204' })).toMatch(/^product "ACME-KL-6204" "ACME Rillenkugellager 6204" .*in 1 orders\.$/);
    const globex = (await h.em().execute(`select id from tenant where slug = 'globex'`)) as { id: string }[];
    await expect(contextSummary(h.em(), globex[0]!.id, { type: 'order', id: orderNumber })).rejects.toMatchObject({ code: 'context_not_found' });
    await expect(contextSummary(h.em(), acme.tenant.id, { type: 'product', id: 'GLOBEX-KL-6204' })).rejects.toMatchObject({ code: 'context_not_found' });
  });

  it('a chat-platform thread is about the last order named in it: the next turn\'s prompt carries its summary', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue({ toolCalls: [{ name: 'get_order_status', arguments: { order_id: orderNumber } }] }, { content: `${orderNumber} is rendering.` });
    await h.conversations.respond(turn, `how is ${orderNumber} doing?`);
    expect(systemOf(h.llm.requests.at(-2)!)).not.toContain('This conversation is about');
    expect(await getSessionContext(h.em(), acme.tenant.id, turn.sessionId)).toEqual({ type: 'order', id: orderNumber });
    h.llm.enqueue({ content: 'Still rendering: 0 of 2 finished.' });
    await h.conversations.respond(turn, "what's the status now?");
    expect(systemOf(h.llm.requests.at(-1)!)).toContain(`This conversation is about: order ${orderNumber}`);
    // Each user message records what the conversation was about when it was sent.
    expect(await h.em().execute(`select content, context_type, context_id from chat_message where session_id = ? and role = 'user' order by seq`, [turn.sessionId])).toEqual([
      { content: `how is ${orderNumber} doing?`, context_type: null, context_id: null },
      { content: "what's the status now?", context_type: 'order', context_id: orderNumber },
    ]);
    h.llm.assertDone();
  });

  it('an order created by a confirmed plan becomes what the thread is about', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue({ toolCalls: [{ name: 'create_order', arguments: { product_ids: ['ACME-ZR-100'], output_type_name: 'PNG 2048x2048', submit: true, material_override: null, render_overrides: null } }] });
    await h.conversations.respond(turn, 'render the roller bearing as PNG', { delivery: h.delivery });
    h.llm.enqueue({ content: 'Created.' });
    const start = h.delivered.length;
    await h.conversations.respond(turn, 'confirm', { delivery: h.delivery });
    await h.deliveredCount(start + 1);
    const ctx = await getSessionContext(h.em(), acme.tenant.id, turn.sessionId);
    const [order] = (await h.em().execute(`select o.id from render_order o join order_item i on i.order_id = o.id join product p on p.id = i.product_id where p.pim_id = 'ACME-ZR-100'`)) as { id: string }[];
    expect(ctx).toEqual({ type: 'order', id: order!.id });
    expect(systemOf(h.llm.requests.at(-1)!)).toMatch(/This conversation is about: order SA-\d{4}-\d{5}.*output "PNG 2048x2048", 1 products/);
    h.llm.assertDone();
  });
});
