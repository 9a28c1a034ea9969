import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleNotices } from '../core/notices/schedule.ts';
import { makeTenant } from './support/fixtures.ts';
import { createCoreHarness, texts, type CoreHarness } from './support/core.ts';
import type { FakeLlmRequest, FakeStep } from './fakes/llm-server.ts';
import { seedCategoryProducts } from '../bot/seed/bulk.ts';
import { upsertProducts } from '../core/pipeline/catalogue.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { freezeSelection } from '../core/pipeline/selections.ts';
import { createPendingAction, expireActions } from '../core/actions/store.ts';
import { getOrderStatus } from '../core/pipeline/orders-read.ts';
import { deriveOrderStatus } from '../core/renders/jobs.ts';
import { getRenderResults } from '../core/renders/results.ts';
import type { ConfirmBlock, Reply } from '../core/replies/reply.ts';
import { lastNote } from './support/prompt.ts';
import { z } from 'zod';
import { countOf, row, rows } from './support/rows.ts';
import { idRow } from '../core/db/sql.ts';

let h: CoreHarness;

beforeAll(async () => {
  h = await createCoreHarness();
});
afterAll(async () => {
  await h.close();
});

const selectionCount = (tenantId: string) =>
  countOf(h.em(), `select count(*)::int as n from product_selection where tenant_id = ?`, [tenantId]);
const orderCount = (tenantId: string) =>
  countOf(h.em(), `select count(*)::int as n from render_order where tenant_id = ?`, [tenantId]);

/** The latest tool message answering a call named `name`, as the model received it. */
function lastToolContent(req: FakeLlmRequest, name: string): string | undefined {
  const msgs = req.body.messages;
  const calls = new Map(
    msgs
      .flatMap((m) => (m.tool_calls as { id: string; function: { name: string } }[] | undefined) ?? [])
      .map((c) => [c.id, c.function.name]),
  );
  return msgs.findLast((m) => m.role === 'tool' && calls.get(String(m.tool_call_id)) === name)?.content as
    string | undefined;
}

/** A tenant with the default catalogue and AI on, and a conversation of its operator. */
async function aiTenant(slug: string) {
  const t = await makeTenant(h.em(), slug);
  await h.enableAi(t.tenant.id);
  return { t, turn: await h.turn(t.tenant.id) };
}

const confirmOf = (reply: Reply) => reply.blocks.find((b): b is ConfirmBlock => b.type === 'confirm');
const filterCall = (category: string) => ({
  name: 'create_order',
  arguments: {
    product_ids: null,
    product_filter: { category, query: null, material: null },
    output_type_name: 'WebP 1024x1024',
    submit: true,
    material_override: null,
    render_overrides: null,
  },
});
const followUp: FakeStep = (req) => ({ content: `Done: ${/SA-\d{4}-\d{5}/.exec(lastNote(req))?.[0]}.` });

describe('orders by selection', () => {
  it('"Render all Kugellager products…" with 60,000 of them: one confirmation stating 60,000; confirm → an order with 60,000 items and queued jobs', async () => {
    const t = await makeTenant(h.em(), 'huge', { products: [] });
    expect(
      await seedCategoryProducts(h.em(), t.tenant.id, {
        category: 'Kugellager',
        count: 60_000,
        prefix: 'KL',
        stem: 'Rillenkugellager 6',
      }),
    ).toBe(60_000);
    await seedCategoryProducts(h.em(), t.tenant.id, { category: 'Dichtungen', count: 50, prefix: 'DI' });
    await h.enableAi(t.tenant.id);
    const turn = await h.turn(t.tenant.id);
    h.llm.enqueue(
      {
        toolCalls: [
          {
            name: 'search_products',
            arguments: { category: 'Kugellager', query: null, material: null, limit: 5, cursor: null },
          },
        ],
      },
      (req) => {
        expect(JSON.parse(lastToolContent(req, 'search_products')!)).toMatchObject({
          total: 60_000,
          total_exact: true,
          returned: 5,
          next_cursor: expect.any(String),
        });
        return {
          content: 'There are 60,000 Kugellager products. Please confirm the order:',
          toolCalls: [filterCall('Kugellager')],
        };
      },
    );
    const [proposal] = await h.conversations.respond(turn, 'Render all Kugellager products as WebP at 1024x1024', {
      delivery: h.delivery,
    });
    // The model was steered to a filter for "all …" and to paging for lists.
    const first = h.llm.requests.at(-2)!.body;
    expect(String(first.messages[0]!.content)).toMatch(/"All …" requests .* call create_order with product_filter/);
    expect(first.tools!.find((t) => t.function.name === 'search_products')!.function.description).toContain(
      'next_cursor',
    );
    expect(first.tools!.find((t) => t.function.name === 'create_order')!.function.description).toContain(
      'product_filter',
    );
    const confirm = confirmOf(proposal!)!;
    expect(confirm.title).toBe('Create order for 60,000 products in category Kugellager and start rendering');
    expect(confirm.steps).toHaveLength(1);
    expect(confirm.steps[0]!.details).toContain(
      'Products: all 60,000 in category Kugellager as of this preview (products added later are not included)',
    );
    expect(confirm.steps[0]!.details).toContain('Submit: yes — 60,000 render jobs will be queued');
    expect(confirm.steps[0]!.sample).toEqual({
      columns: ['PIM ID', 'Product'],
      rows: expect.any(Array),
      total: 60_000,
    });
    expect(confirm.steps[0]!.sample!.rows).toEqual([
      ['KL-0000001', 'Rillenkugellager 60000001'],
      ...Array(4).fill(expect.any(Array)),
    ]);
    expect(JSON.stringify(proposal).length).toBeLessThan(3_000);

    // The ids are frozen beside the action, not in its plan or anything the model sees.
    const action = await row(
      h.em(),
      z.object({ id: z.string(), plan_chars: z.number() }),
      `select id, length(plan::text) as plan_chars from pending_action where session_id = ?`,
      [turn.sessionId],
    );
    expect(action!.plan_chars).toBeLessThan(2_000);
    expect(
      await countOf(h.em(), `select cardinality(ids) as n from product_selection where action_id = ?`, [action!.id]),
    ).toBe(60_000);
    expect(Math.max(...h.llm.requests.map((r) => JSON.stringify(r.body).length))).toBeLessThan(30_000);

    h.llm.enqueue(followUp);
    const start = h.delivered.length;
    const replies = await h.conversations.respond(turn, 'confirm', { delivery: h.delivery });
    expect(confirmOf(replies[0]!)).toMatchObject({
      status: 'done',
      outcome: expect.stringMatching(/Created SA-\d{4}-\d{5} with 60,000 render jobs/),
    });
    const order = (await row(
      h.em(),
      z.object({ id: z.string(), order_number: z.string(), status: z.string() }),
      `select id, order_number, status from render_order where tenant_id = ?`,
      [t.tenant.id],
    ))!;
    expect(order.status).toBe('rendering');
    await h.deliveredCount(start + 1);
    expect(texts([h.delivered[start]!.reply])).toContain(order.order_number);
    expect(
      await row(
        h.em(),
        z.object({ items: z.number(), distinct_products: z.number(), all_kl: z.boolean() }),
        `select count(*)::int as items, count(distinct i.product_id)::int as distinct_products, bool_and(p.category = 'Kugellager') as all_kl
      from order_item i join product p on p.id = i.product_id where i.order_id = ?`,
        [order.id],
      ),
    ).toEqual({ items: 60_000, distinct_products: 60_000, all_kl: true });
    expect(
      await countOf(h.em(), `select count(*)::int as n from render_job where order_id = ? and status = 'queued'`, [
        order.id,
      ]),
    ).toBe(60_000);
    expect(
      await countOf(
        h.em(),
        `select count(*)::int as n from graphile_worker.jobs q join render_job j on q.key = j.id::text
      where j.order_id = ? and q.task_identifier = 'render_job'`,
        [order.id],
      ),
    ).toBe(60_000);
    expect(await selectionCount(t.tenant.id)).toBe(0);
    h.llm.assertDone();
  });

  it('freezes the selection: a product imported after the preview is not added, a deleted one is left out and reported', async () => {
    const { t, turn } = await aiTenant('frozen');
    h.llm.enqueue({ toolCalls: [filterCall('Kugellager')] });
    const [proposal] = await h.conversations.respond(turn, 'Alle Kugellager als WebP rendern', {
      delivery: h.delivery,
    });
    expect(confirmOf(proposal!)!.title).toBe('Create order for 3 products in category Kugellager and start rendering');

    await upsertProducts(h.em(), t.tenant.id, [
      { pimId: 'FROZEN-KL-9999', name: 'Imported later', category: 'Kugellager', materialName: null },
    ]);
    await h.em().execute(`delete from product where tenant_id = ? and pim_id = 'FROZEN-KL-6205'`, [t.tenant.id]);

    h.llm.enqueue(followUp);
    const start = h.delivered.length;
    const [decided] = await h.conversations.respond(turn, 'confirm', { delivery: h.delivery });
    expect(confirmOf(decided!)).toMatchObject({
      status: 'done',
      outcome: expect.stringContaining('1 selected product deleted since the preview was left out'),
    });
    await h.deliveredCount(start + 1);
    const items = await rows(
      h.em(),
      z.object({ pim_id: z.string() }),
      `select p.pim_id from order_item i join product p on p.id = i.product_id join render_order o on o.id = i.order_id
      where o.tenant_id = ? order by p.pim_id`,
      [t.tenant.id],
    );
    expect(items.map((r) => r.pim_id)).toEqual(['FROZEN-KL-6204', 'FROZEN-KL-6206']);
    const note = await row(
      h.em(),
      z.object({ content: z.string() }),
      `select content from chat_message where session_id = ? and role = 'system' order by seq desc limit 1`,
      [turn.sessionId],
    );
    expect(note!.content).toContain('"deleted_since_preview":1');
    h.llm.assertDone();
  });

  it('creates nothing when every frozen product was deleted, and says so', async () => {
    const { t, turn } = await aiTenant('vanished');
    h.llm.enqueue({ toolCalls: [filterCall('Dichtungen')] });
    await h.conversations.respond(turn, 'render all seals');
    await h.em().execute(`delete from product where tenant_id = ? and category = 'Dichtungen'`, [t.tenant.id]);
    const [decided] = await h.conversations.respond(turn, 'confirm');
    expect(confirmOf(decided!)).toMatchObject({
      status: 'failed',
      outcome: expect.stringContaining('None of the 1 selected products exist any more'),
    });
    expect(await orderCount(t.tenant.id)).toBe(0);
    h.llm.assertDone();
  });

  it('refuses a filter that matches nothing or names an unknown category, before any confirmation', async () => {
    const { turn } = await aiTenant('nomatch');
    let answers: string[] = [];
    h.llm.enqueue(
      {
        toolCalls: [
          filterCall('Schrauben'),
          {
            ...filterCall('Kugellager'),
            arguments: {
              ...filterCall('Kugellager').arguments,
              product_filter: { category: 'Kugellager', query: 'nonexistent', material: null },
            },
          },
        ],
      },
      (req) => {
        answers = req.body.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
        return { content: 'Nothing matches.' };
      },
    );
    const [reply] = await h.conversations.respond(turn, 'render all screws');
    expect(confirmOf(reply!)).toBeUndefined();
    expect(answers[0]).toMatch(
      /No category "Schrauben" was found\. Known categories: Dichtungen, Kugellager, Rollenlager/,
    );
    expect(answers[1]).toMatch(/No products are in category Kugellager matching "nonexistent"/);
    h.llm.assertDone();
  });
});

describe('frozen selections', () => {
  it('refuse more than an order can hold, and are dropped once cancelled, expired or never attached', async () => {
    const { t, turn } = await aiTenant('sweep');
    await expect(freezeSelection(h.em(), t.tenant.id, { category: 'Kugellager' }, 2)).rejects.toMatchObject({
      code: 'too_many_products',
      message: expect.stringMatching(
        /^3 products are in category Kugellager; an order can hold at most 2\. Narrow the filter/,
      ),
    });
    h.llm.enqueue({ toolCalls: [filterCall('Kugellager')] });
    await h.conversations.respond(turn, 'render all Kugellager');
    const count = () => selectionCount(t.tenant.id);
    expect(await count()).toBe(1);
    await h.conversations.respond(turn, 'cancel');
    expect(await count()).toBe(0);

    h.llm.enqueue({ toolCalls: [filterCall('Kugellager')] });
    await h.conversations.respond(turn, 'render all Kugellager again');
    const loose = await freezeSelection(h.em(), t.tenant.id, { category: 'Dichtungen' }, 10);
    expect(await count()).toBe(2);
    await h
      .em()
      .execute(
        `update pending_action set expires_at = now() - interval '1 second' where session_id = ? and status = 'pending'`,
        [turn.sessionId],
      );
    await expireActions(h.em());
    expect(await count()).toBe(1); // the expired action's; the loose one is younger than an hour
    await h
      .em()
      .execute(`update product_selection set created_at = now() - interval '2 hours' where id = ?`, [
        loose.selectionId,
      ]);
    await expireActions(h.em());
    expect(await count()).toBe(0);
    h.llm.assertDone();
  });
});

/** The categories and item counts of a tenant's orders, smallest first. */
const ordersOf = (tenantId: string) =>
  rows(
    h.em(),
    z.object({ categories: z.array(z.string()), items: z.number() }),
    `select array_agg(distinct p.category) as categories, count(*)::int as items
  from render_order o join order_item i on i.order_id = o.id join product p on p.id = i.product_id where o.tenant_id = ? group by o.id order by items`,
    [tenantId],
  );

describe('what is confirmed is what runs', () => {
  it('refuses a response whose create_order calls share one tool-call id: nothing is planned, the model is told once, and its corrected calls each run what they previewed', async () => {
    const { t, turn } = await aiTenant('sameid');
    let told: Record<string, unknown>[] = [];
    let meanwhile: { actions: number; selections: number } | undefined;
    h.llm.enqueue(
      {
        content: 'Please confirm both orders:',
        toolCalls: [
          { ...filterCall('Kugellager'), id: 'call_same' },
          { ...filterCall('Dichtungen'), id: 'call_same' },
        ],
      },
      async (req) => {
        told = req.body.messages.slice(req.body.messages.findLastIndex((m) => m.role === 'assistant'));
        meanwhile = await row(
          h.em(),
          z.object({ actions: z.number(), selections: z.number() }),
          `select (select count(*)::int from pending_action where session_id = ?) as actions,
          (select count(*)::int from product_selection where tenant_id = ?) as selections`,
          [turn.sessionId, t.tenant.id],
        );
        return {
          content: 'Please confirm both orders:',
          toolCalls: [
            { ...filterCall('Kugellager'), id: 'call_kl' },
            { ...filterCall('Dichtungen'), id: 'call_di' },
          ],
        };
      },
    );
    const [proposal] = await h.conversations.respond(turn, 'render all Kugellager and all Dichtungen', {
      delivery: h.delivery,
    });

    // The refused response is kept with distinct ids (a provider refuses a history with shared ones) and explained in one result.
    expect(
      told.map((m) =>
        m.role === 'assistant' ? (m.tool_calls as { id: string }[]).map((c) => c.id) : [m.tool_call_id, m.content],
      ),
    ).toEqual([
      ['call_same', 'call_same-2'],
      [
        'call_same',
        expect.stringMatching(
          /^Error: not run\. .*2 calls share the id "call_same"\. None of the calls of this response ran and nothing awaits confirmation/,
        ),
      ],
      ['call_same-2', 'Error: not run; see the result of call_same.'],
    ]);
    expect(meanwhile).toEqual({ actions: 0, selections: 0 });

    const confirm = confirmOf(proposal!)!;
    expect(confirm.steps.map((s) => s.title)).toEqual([
      'Create order for 3 products in category Kugellager and start rendering',
      'Create order for 1 product in category Dichtungen and start rendering',
    ]);
    const action = (await row(h.em(), idRow, `select id from pending_action where session_id = ?`, [turn.sessionId]))!;
    expect(
      await rows(
        h.em(),
        z.object({ step: z.number(), n: z.number() }),
        `select step, cardinality(ids) as n from product_selection where action_id = ? order by step`,
        [action.id],
      ),
    ).toEqual([
      { step: 0, n: 3 },
      { step: 1, n: 1 },
    ]);

    h.llm.enqueue({ content: 'Both orders are rendering.' });
    const start = h.delivered.length;
    const [decided] = await h.conversations.respond(turn, 'confirm', { delivery: h.delivery });
    expect(confirmOf(decided!)).toMatchObject({ status: 'done' });
    await h.deliveredCount(start + 1);
    expect(await ordersOf(t.tenant.id)).toEqual([
      { categories: ['Dichtungen'], items: 1 },
      { categories: ['Kugellager'], items: 3 },
    ]);
    h.llm.assertDone();
  });

  it('keys frozen selections by (action, step): steps carrying the same tool-call id each run their own, and a step holds at most one', async () => {
    const { t, turn } = await aiTenant('bystep');
    const freeze = (category: string) => freezeSelection(h.em(), t.tenant.id, { category }, 100);
    const [kl, di, extra] = [await freeze('Kugellager'), await freeze('Dichtungen'), await freeze('Rollenlager')];
    const call = (category: string, selectionId: string) => ({
      toolCallId: 'call_same',
      tool: 'create_order',
      step: { title: `all ${category}`, details: [] },
      frozen: { selectionId },
      args: { product_filter: { category }, output_type_name: 'WebP 1024x1024', submit: false },
    });
    const action = await createPendingAction(
      h.em(),
      turn,
      [call('Kugellager', kl.selectionId), call('Dichtungen', di.selectionId)],
      new Date(),
    );
    expect(
      await rows(
        h.em(),
        z.object({ id: z.string(), step: z.number() }),
        `select id, step from product_selection where action_id = ? order by step`,
        [action.id],
      ),
    ).toEqual([
      { id: kl.selectionId, step: 0 },
      { id: di.selectionId, step: 1 },
    ]);
    await expect(
      h
        .em()
        .execute(`update product_selection set action_id = ?, step = 1 where id = ?`, [action.id, extra.selectionId]),
    ).rejects.toMatchObject({ code: '23505', constraint: 'product_selection_action_step_key' });
    await expect(
      h.em().execute(`update product_selection set action_id = ? where id = ?`, [action.id, extra.selectionId]),
    ).rejects.toMatchObject({ code: '23514', constraint: 'product_selection_step_check' });

    const [decided] = await h.conversations.respond(turn, 'confirm');
    expect(confirmOf(decided!)).toMatchObject({ status: 'done' });
    expect(await ordersOf(t.tenant.id)).toEqual([
      { categories: ['Dichtungen'], items: 1 },
      { categories: ['Kugellager'], items: 3 },
    ]);
  });
});

describe('paging', () => {
  it('lets the model walk every page of a 5,000-product search, across turns, without gaps or repeats', async () => {
    const t = await makeTenant(h.em(), 'pages', { products: [] });
    await seedCategoryProducts(h.em(), t.tenant.id, {
      category: 'Dichtungen',
      count: 5_000,
      prefix: 'DI',
      stem: 'Wellendichtring ',
    });
    await seedCategoryProducts(h.em(), t.tenant.id, { category: 'Kugellager', count: 300, prefix: 'KL' });
    await h.enableAi(t.tenant.id);
    const turn = await h.turn(t.tenant.id);
    const seen: string[] = [];
    const totals = new Set<number>();
    const search = (cursor: string | null) => ({
      toolCalls: [
        {
          name: 'search_products',
          arguments: { category: 'Dichtungen', query: null, material: null, limit: 200, cursor },
        },
      ],
    });
    // A model listing page after page: at most 7 pages per turn, then it asks whether to go on.
    const walker: FakeStep = (req) => {
      const msgs = req.body.messages;
      const userAt = msgs.findLastIndex((m) => m.role === 'user');
      const latest = lastToolContent(req, 'search_products');
      if (msgs.at(-1)!.role === 'user') return search(latest ? /"next_cursor":"([^"]+)"/.exec(latest)![1]! : null);
      const page = JSON.parse(latest!) as { total: number; next_cursor: string | null; products: { pim_id: string }[] };
      seen.push(...page.products.map((p) => p.pim_id));
      totals.add(page.total);
      const pagesThisTurn = msgs.slice(userAt).filter((m) => m.role === 'tool').length;
      if (!page.next_cursor) return { content: `That was all ${page.total} products.` };
      return pagesThisTurn < 7
        ? search(page.next_cursor)
        : { content: `Shown ${seen.length} of ${page.total}. Say "weiter" for more.` };
    };
    let last = '';
    for (const [text, requests] of [
      ['Liste alle Dichtungen', 8],
      ['weiter', 8],
      ['weiter', 8],
      ['weiter', 5],
    ] as const) {
      h.llm.enqueue(...Array<FakeStep>(requests).fill(walker));
      last = texts(await h.conversations.respond(turn, text));
    }
    expect(last).toBe('That was all 5000 products.');
    expect(totals).toEqual(new Set([5_000]));
    expect(seen).toHaveLength(5_000);
    expect(new Set(seen).size).toBe(5_000);
    expect(seen).toEqual([...seen].sort());
    h.llm.assertDone();
  });
});

describe('current jobs of an order', () => {
  it('count each item once: its open or completed job, else its newest failure; results list the same jobs', async () => {
    const t = await makeTenant(h.em(), 'current');
    const em = h.em();
    const created = await em.transactional((tx) =>
      createOrder(tx, t.tenant.id, {
        products: { refs: ['CURRENT-KL-6204', 'CURRENT-KL-6205', 'CURRENT-KL-6206', 'CURRENT-DI-20'] },
        outputTypeName: 'WebP 1024x1024',
        submit: false,
        createdBy: 'test',
        now: new Date(),
      }),
    );
    const job = (pim: string, status: string, minutes: number, error: string | null = null) =>
      em.execute(
        `insert into render_job (tenant_id, order_id, order_item_id, product_id, status, error, attempts, queued_at, finished_at)
       select i.tenant_id, i.order_id, i.id, i.product_id, ?, ?, 1, now() - make_interval(mins => ?), case when ? in ('failed', 'completed') then now() - make_interval(mins => ?) end
       from order_item i join product p on p.id = i.product_id where i.order_id = ? and p.pim_id = ?`,
        [status, error, minutes, status, minutes, created.orderId, pim],
      );
    await job('CURRENT-KL-6204', 'failed', 30, 'first try');
    await job('CURRENT-KL-6204', 'completed', 10); // retried and done: counts as completed only
    await job('CURRENT-KL-6205', 'failed', 30, 'old failure');
    await job('CURRENT-KL-6205', 'failed', 20, 'newest failure'); // failed twice: one failure, the newest
    await job('CURRENT-KL-6206', 'queued', 5);
    await em.execute(`update render_order set status = 'rendering' where id = ?`, [created.orderId]);
    const status = await getOrderStatus(em, t.tenant.id, created.orderNumber);
    expect(status).toMatchObject({
      item_count: 4,
      jobs: { completed: 1, failed: 1, queued: 1, running: 0 },
      total_jobs: 3,
    });
    expect(status.failures).toEqual([expect.objectContaining({ pim_id: 'CURRENT-KL-6205', error: 'newest failure' })]);
    const results = await getRenderResults(em, t.tenant.id, created.orderNumber, undefined, new Date());
    expect(results.counts).toEqual({ completed: 1, failed: 1, queued: 1, running: 0, not_dispatched: 1 });
    expect(results.items.map((i) => [i.pim_id, i.status, i.error])).toEqual([
      ['CURRENT-KL-6204', 'completed', null],
      ['CURRENT-KL-6205', 'failed', 'newest failure'],
      ['CURRENT-KL-6206', 'queued', null],
      ['CURRENT-DI-20', 'not_dispatched', null],
    ]);
    await em.execute(
      `update render_job set status = 'failed', error = 'gave up', finished_at = now() where order_id = ? and status = 'queued'`,
      [created.orderId],
    );
    expect(
      await em.transactional((tx) => deriveOrderStatus(tx, t.tenant.id, created.orderId, new Date(), scheduleNotices)),
    ).toBe('failed');
    await em.execute(`delete from render_job where order_id = ? and status = 'failed'`, [created.orderId]);
    expect(
      await em.transactional((tx) => deriveOrderStatus(tx, t.tenant.id, created.orderId, new Date(), scheduleNotices)),
    ).toBe('completed');
  });
});
