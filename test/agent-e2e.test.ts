import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { createCoreHarness, texts, type CoreHarness } from './support/core.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';
import { lastNote } from './support/prompt.ts';
import { z } from 'zod';
import { countOf, rows } from './support/rows.ts';

let h: CoreHarness;
let acme: TenantFixture;

beforeAll(async () => {
  h = await createCoreHarness();
  acme = await makeTenant(h.em(), 'acme');
  await makeTenant(h.em(), 'globex');
  await h.enableAi(acme.tenant.id);
});
afterAll(async () => {
  await h.close();
});

/** The JSON the agent sent back for the latest tool call named `name`. */
function toolResult(req: FakeLlmRequest, name: string): unknown {
  const msgs = req.body.messages;
  const call = [...msgs]
    .reverse()
    .flatMap((m) => (m.tool_calls as { id: string; function: { name: string } }[] | undefined) ?? [])
    .find((c) => c.function.name === name);
  const answer = msgs.find((m) => m.role === 'tool' && m.tool_call_id === call?.id);
  return JSON.parse(String(answer?.content));
}

describe('the seed example end to end', () => {
  it('"Render all Kugellager products as WebP at 1024x1024" → search → one confirmation → order with one job per product → follow-up with the order number', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue(
      { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 200 } }] },
      (req) => {
        const found = toolResult(req, 'search_products') as { total: number; products: { id: string }[] };
        return {
          toolCalls: [
            {
              name: 'create_order',
              arguments: {
                product_ids: found.products.map((p) => p.id),
                output_type_name: 'WebP 1024x1024',
                submit: true,
                material_override: null,
                render_overrides: null,
              },
            },
            { name: 'dispatch_renders', arguments: { order_id: 'the new order' } },
          ],
        };
      },
    );
    const [proposal] = await h.conversations.respond(turn, 'Render all Kugellager products as WebP at 1024x1024', {
      delivery: h.delivery,
    });
    const confirm = proposal!.blocks.find((b) => b.type === 'confirm');
    expect(confirm).toMatchObject({ status: 'pending', steps: [{ title: expect.stringMatching(/3 products/) }] });
    expect(JSON.stringify(confirm)).toContain('WebP 1024x1024');
    const em = h.em();
    expect(await countOf(em, `select count(*)::int as n from render_order where tenant_id = ?`, [acme.tenant.id])).toBe(
      0,
    );

    h.llm.enqueue((req) => {
      const note = lastNote(req);
      const number = /SA-\d{4}-\d{5}/.exec(note)?.[0];
      return { content: `Done: order ${number} was created and its renders were dispatched.` };
    });
    const start = h.delivered.length;
    const replies = await h.conversations.respond(turn, 'confirm', { delivery: h.delivery });
    expect(replies).toHaveLength(1);
    expect(replies[0]!.blocks.find((b) => b.type === 'confirm')).toMatchObject({
      status: 'done',
      outcome: expect.stringContaining('alice'),
    });
    // The follow-up was queued with the decision and is answered in the session where the plan was asked.
    await h.deliveredCount(start + 1);
    const followUp = h.delivered[start]!;

    const [order] = await rows(
      em,
      z.object({ id: z.string(), order_number: z.string(), status: z.string() }),
      `select id, order_number, status from render_order where tenant_id = ?`,
      [acme.tenant.id],
    );
    expect(order).toMatchObject({ status: 'rendering', order_number: expect.stringMatching(/^SA-\d{4}-\d{5}$/) });
    const jobs = await rows(
      em,
      z.object({ status: z.string(), category: z.string() }),
      `select j.status, p.category from render_job j join product p on p.id = j.product_id where j.order_id = ?`,
      [order!.id],
    );
    expect(jobs).toHaveLength(3);
    expect(jobs.every((j) => j.status === 'queued' && j.category === 'Kugellager')).toBe(true);
    expect(texts([followUp.reply])).toContain(order!.order_number);
    expect(followUp.target).toEqual(h.delivery.target);
    expect(
      await rows(
        em,
        z.object({ action: z.string(), outcome: z.string() }),
        `select action, outcome from audit_log where tenant_id = ?`,
        [acme.tenant.id],
      ),
    ).toContainEqual({ action: 'action.confirm', outcome: 'done' });

    // The model saw strict tool schemas on the Azure path, and every tool call was answered.
    const first = h.llm.requests[0]!;
    expect(first.path).toBe('/openai/deployments/gpt-4o/chat/completions');
    expect(first.body.tools?.map((t) => t.function.name).sort()).toEqual([
      'cancel_order',
      'check_materials',
      'create_order',
      'dispatch_renders',
      'export_results',
      'get_order_status',
      'get_render_results',
      'get_render_stats',
      'list_orders',
      'query_database',
      'read_file_sheet',
      'retry_failed_renders',
      'search_products',
      'set_material_override',
      'set_render_overrides',
    ]);
    expect(first.body.tools?.every((t) => t.function.strict === true)).toBe(true);
    h.llm.assertDone();
  });
});

describe('streaming', () => {
  it('passes the final text to onText as it streams, and the reply holds the same text', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue(
      { toolCalls: [{ name: 'list_orders', arguments: { status: null, limit: null } }] },
      { content: 'There are no orders yet, but you can create one.' },
    );
    const deltas: string[] = [];
    const replies = await h.conversations.respond(turn, 'any orders?', { onText: (d) => deltas.push(d) });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('There are no orders yet, but you can create one.');
    expect(texts(replies)).toBe(deltas.join(''));
    expect(h.llm.requests.at(-1)!.body.stream).toBe(true);
    h.llm.assertDone();
  });
});

describe('tool call handling', () => {
  it('feeds bad arguments, unknown tools and tool errors back to the model, and runs read calls of one response', async () => {
    const turn = await h.turn(acme.tenant.id);
    let seen: Record<string, unknown>[] = [];
    h.llm.enqueue(
      {
        toolCalls: [
          { name: 'search_products', arguments: { query: 'Kugel', category: null, limit: 'lots' } },
          { name: 'launch_rockets', arguments: {} },
          { name: 'get_order_status', arguments: { order_id: 'SA-2026-99999' } },
          { name: 'list_orders', arguments: '{"status": "completed", ' },
          { name: 'search_products', arguments: { query: 'Wellendichtring', category: null, limit: null } },
        ],
      },
      (req) => {
        seen = req.body.messages.filter((m) => m.role === 'tool');
        return { content: 'Found one Wellendichtring.' };
      },
    );
    const replies = await h.conversations.respond(turn, 'find sealing rings');
    expect(texts(replies)).toBe('Found one Wellendichtring.');
    const contents = seen.map((m) => String(m.content));
    expect(contents[0]).toMatch(/^Error: Invalid arguments — limit/);
    expect(contents[1]).toMatch(/unknown tool "launch_rockets"/);
    expect(contents[2]).toMatch(/SA-2026-99999/);
    expect(contents[3]).toMatch(/not valid JSON/);
    expect(contents[4]).toContain('ACME Wellendichtring');
    expect(replies[0]!.blocks.some((b) => b.type === 'table')).toBe(true);
    h.llm.assertDone();
  });

  it('ends with a clear reply when the model keeps calling tools past the round cap', async () => {
    const capped = await createCoreHarness({ maxRounds: 2 });
    try {
      const t = await makeTenant(capped.em(), 'loop');
      await capped.enableAi(t.tenant.id);
      const turn = await capped.turn(t.tenant.id);
      capped.llm.enqueue(
        { toolCalls: [{ name: 'list_orders', arguments: { status: null, limit: null } }] },
        { toolCalls: [{ name: 'list_orders', arguments: { status: null, limit: null } }] },
      );
      expect(texts(await capped.conversations.respond(turn, 'loop forever'))).toMatch(
        /could not finish this within 2 steps/,
      );
      capped.llm.assertDone();
    } finally {
      await capped.close();
    }
  });
});
