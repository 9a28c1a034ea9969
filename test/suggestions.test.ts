import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rows } from './support/rows.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { submitOrder } from './support/renders.ts';
import { lastNote } from './support/prompt.ts';
import { LATEST_ORDERS, nextSteps, startersFrom, type DoneCall } from '../core/tools/next-steps.ts';
import type { TenantGlance } from '../core/pipeline/glance.ts';
import type { Role } from '../core/tenancy/roles.ts';

type Reply = { blocks: { type: string; [k: string]: unknown }[]; suggestions?: string[] };
type Msg = { role: string; content: string; cursor: string; reply: Reply | null };
type ChatResult = { session_id: string; response: Msg };
const orderNumberRow = z.object({ order_number: z.string() });

describe('next-step rules (pure)', () => {
  const order = (failedJobs: number, status = 'rendering'): DoneCall => ({
    tool: 'get_order_status',
    effects: { order: { number: 'SA-2026-00007', status, failedJobs } },
  });
  it.each<[string, DoneCall[], Role, string[]]>([
    [
      'a search found products: render them (operators)',
      [{ tool: 'search_products', effects: { found: { products: 3074 } } }],
      'operator',
      ['Render these 3,074 products'],
    ],
    [
      'a search found one product',
      [{ tool: 'search_products', effects: { found: { products: 1 } } }],
      'admin',
      ['Render this product'],
    ],
    [
      'a search found nothing: no step',
      [{ tool: 'search_products', effects: { found: { products: 0 } } }],
      'operator',
      [],
    ],
    [
      'a viewer is not offered writes',
      [{ tool: 'search_products', effects: { found: { products: 42 } } }, order(6)],
      'viewer',
      [],
    ],
    ['failures: retry them', [order(6)], 'operator', ['Retry the 6 failed renders of SA-2026-00007']],
    [
      'one failure, finished order: retry it, then its results',
      [order(1, 'completed')],
      'operator',
      ['Retry the 1 failed render of SA-2026-00007', 'Show the results of SA-2026-00007'],
    ],
    [
      'a listed rendering order: its progress',
      [{ tool: 'list_orders', effects: { order: { number: 'SA-2026-00009', status: 'rendering', failedJobs: 0 } } }],
      'viewer',
      ['Show progress of SA-2026-00009'],
    ],
    [
      'an order was created: its progress',
      [{ tool: 'create_order', effects: { orders: [{ id: 'x', number: 'SA-2026-00010' }] } }],
      'operator',
      ['Show progress of SA-2026-00010'],
    ],
    [
      'a cancelled order: no progress',
      [{ tool: 'cancel_order', effects: { orders: [{ id: 'x', number: 'SA-2026-00010' }] } }],
      'operator',
      [],
    ],
    [
      'the latest call first, no repeats, at most 3',
      [
        { tool: 'search_products', effects: { found: { products: 5 } } },
        order(2, 'failed'),
        {
          tool: 'create_order',
          effects: {
            orders: [
              { id: 'a', number: 'SA-2026-00011' },
              { id: 'b', number: 'SA-2026-00011' },
            ],
          },
        },
      ],
      'operator',
      [
        'Show progress of SA-2026-00011',
        'Retry the 2 failed renders of SA-2026-00007',
        'Show the results of SA-2026-00007',
      ],
    ],
  ])('%s', (_name, calls, role, expected) => {
    expect(nextSteps(calls, role)).toEqual(expected);
  });

  it.each<[string, TenantGlance, Role, string[]]>([
    ['a new tenant', { failedThisWeek: 0 }, 'operator', [LATEST_ORDERS]],
    [
      'a rendering order and failures this week',
      { latest: { number: 'SA-2026-00003', status: 'rendering', failedJobs: 4 }, failedThisWeek: 12 },
      'operator',
      [
        'Retry the 4 failed renders of SA-2026-00003',
        'Show progress of SA-2026-00003',
        'Show the 12 renders that failed this week',
      ],
    ],
    [
      'the same for a viewer',
      { latest: { number: 'SA-2026-00003', status: 'rendering', failedJobs: 4 }, failedThisWeek: 12 },
      'viewer',
      ['Show progress of SA-2026-00003', 'Show the 12 renders that failed this week', LATEST_ORDERS],
    ],
    [
      'a completed order',
      { latest: { number: 'SA-2026-00004', status: 'completed', failedJobs: 0 }, failedThisWeek: 0 },
      'viewer',
      ['Show the results of SA-2026-00004', LATEST_ORDERS],
    ],
  ])('starters: %s', (_name, glance, role, expected) => {
    expect(startersFrom(glance, role)).toEqual(expected);
  });
});

describe('suggestions through the web API', () => {
  let h: WebHarness;
  let acme: TenantFixture;
  let globex: TenantFixture;
  let alice: string; // acme operator
  let vera: string; // acme viewer
  let gus: string; // globex operator

  beforeAll(async () => {
    h = await startWebHarness();
    acme = await makeTenant(h.em(), 'acme');
    globex = await makeTenant(h.em(), 'globex');
    await h.enableAi(acme.tenant.id);
    alice = await h.token(acme.tenant.id, 'alice', 'operator');
    vera = await h.token(acme.tenant.id, 'vera', 'viewer');
    gus = await h.token(globex.tenant.id, 'gus', 'operator');
  });
  afterAll(async () => {
    await h.close();
  });

  async function send(token: string, body: Record<string, unknown>): Promise<ChatResult> {
    const res = await h.api('/api/chat/messages', { token, body });
    expect(res.status).toBe(200);
    return (await res.json()) as ChatResult;
  }
  const me = async (token: string) =>
    ((await (await h.api('/api/me', { token })).json()) as { suggestions: string[] }).suggestions;

  it("a new conversation starts from the tenant's state: its latest order and this week's failures, its own tenant only", async () => {
    expect(await me(alice)).toEqual([LATEST_ORDERS]);
    const order = await submitOrder(
      h.app.db.orm,
      acme.tenant.id,
      ['ACME-KL-6204', 'ACME-KL-6205', 'ACME-KL-6206'],
      'WebP 1024x1024',
    );
    // Two of its renders failed (as a render worker would record them); the tally counts them for the week.
    await h
      .em()
      .execute(
        `update render_job set status = 'failed', finished_at = now(), error = 'boom' where id in (select id from render_job where order_id = ? order by id limit 2)`,
        [order.orderId],
      );
    await h
      .em()
      .execute(
        `update render_job set status = 'completed', finished_at = now() where order_id = ? and status <> 'failed'`,
        [order.orderId],
      );
    await h.em().execute(`update render_order set status = 'completed' where id = ?`, [order.orderId]);
    expect(await me(alice)).toEqual([
      `Retry the 2 failed renders of ${order.orderNumber}`,
      `Show the results of ${order.orderNumber}`,
      'Show the 2 renders that failed this week',
    ]);
    expect(await me(vera)).toEqual([
      `Show the results of ${order.orderNumber}`,
      'Show the 2 renders that failed this week',
      LATEST_ORDERS,
    ]);
    // Another tenant sees nothing of acme's orders.
    expect(await me(gus)).toEqual([LATEST_ORDERS]);
  });

  it('after a search: "Render these N products", stored with the answer; a viewer is offered no write', async () => {
    for (const [token, expected] of [
      [alice, ['Render these 3 products']],
      [vera, undefined],
    ] as const) {
      h.llm.enqueue(
        { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 25 } }] },
        { content: 'Three Kugellager products match.' },
      );
      const r = await send(token, { message: 'Which Kugellager products are there?' });
      expect(r.response.reply?.suggestions).toEqual(expected);
      const history = (await (await h.api(`/api/chat/sessions/${r.session_id}/messages`, { token })).json()) as {
        messages: Msg[];
      };
      expect(history.messages.at(-1)?.reply?.suggestions).toEqual(expected);
    }
    h.llm.assertDone();
  });

  it('after an order with failures: retry them and show its results', async () => {
    const [o] = await rows(h.em(), orderNumberRow, `select order_number from render_order where tenant_id = ?`, [
      acme.tenant.id,
    ]);
    h.llm.enqueue(
      { toolCalls: [{ name: 'get_order_status', arguments: { order_id: o!.order_number } }] },
      { content: 'It finished with two failures.' },
    );
    const r = await send(alice, { message: `How did ${o!.order_number} go?` });
    expect(r.response.reply?.suggestions).toEqual([
      `Retry the 2 failed renders of ${o!.order_number}`,
      `Show the results of ${o!.order_number}`,
    ]);
    h.llm.assertDone();
  });

  it('after a confirmed order: its follow-up offers "Show progress of SA-…"', async () => {
    h.llm.enqueue({
      toolCalls: [
        {
          name: 'create_order',
          arguments: {
            product_ids: [acme.productIds['ACME-DI-20']],
            output_type_name: 'WebP 1024x1024',
            submit: true,
            material_override: null,
            render_overrides: null,
          },
        },
      ],
    });
    const r = await send(alice, { message: 'Render the Wellendichtring' });
    const confirm = r.response.reply!.blocks.find((b) => b.type === 'confirm') as unknown as { actionId: string };
    // A plan awaiting its click offers no next steps: the card is the next step.
    expect(r.response.reply?.suggestions).toBeUndefined();
    h.llm.enqueue((req) => ({ content: `Created ${/SA-\d{4}-\d{5}/.exec(lastNote(req))?.[0]}.` }));
    const before = (await (await h.api(`/api/chat/sessions/${r.session_id}/messages`, { token: alice })).json()) as {
      messages: Msg[];
    };
    expect((await h.api(`/api/actions/${confirm.actionId}/confirm`, { token: alice, body: {} })).status).toBe(200);
    const [created] = await rows(
      h.em(),
      orderNumberRow,
      `select order_number from render_order where tenant_id = ? order by created_at desc limit 1`,
      [acme.tenant.id],
    );
    const poll = await h.api(
      `/api/chat/sessions/${r.session_id}/messages?after=${before.messages.at(-1)!.cursor}&wait=20`,
      { token: alice },
    );
    const followUp = ((await poll.json()) as { messages: Msg[] }).messages.find(
      (m) => m.role === 'assistant' && m.content.startsWith('Created'),
    );
    expect(followUp?.reply?.suggestions).toEqual([`Show progress of ${created!.order_number}`]);
    h.llm.assertDone();
  });
});
