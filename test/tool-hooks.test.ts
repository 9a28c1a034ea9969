import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOf, rows } from './support/rows.ts';
import { z } from 'zod';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { createCoreHarness, texts, type CoreHarness } from './support/core.ts';
import { runAgentTurn } from '../core/agent/turn.ts';
import { toolRegistry } from '../core/tools/registry.ts';
import { defineTool, isToolEnabled, needsApproval } from '../core/tools/tool.ts';
import { allTools } from '../core/tools/index.ts';
import type { ConfirmBlock } from '../core/replies/reply.ts';

let h: CoreHarness;
let acme: TenantFixture;

beforeAll(async () => {
  h = await createCoreHarness();
  acme = await makeTenant(h.em(), 'acme');
  await h.enableAi(acme.tenant.id);
});
afterAll(async () => {
  await h.close();
});

const offeredNames = (i: number) => (h.llm.requests[i]!.body.tools ?? []).map((t) => t.function.name).sort();
const toolAnswers = (i: number) =>
  h.llm.requests[i]!.body.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));

describe('isEnabled', () => {
  it("offers a viewer's model only the read tools, and treats a write call it makes anyway as unknown", async () => {
    const turn = await h.turn(acme.tenant.id, { userId: 'vera', role: 'viewer' });
    const at = h.llm.requests.length;
    h.llm.enqueue(
      {
        toolCalls: [
          {
            name: 'create_order',
            arguments: {
              product_ids: ['ACME-KL-6204'],
              product_filter: null,
              output_type_name: 'WebP 1024x1024',
              submit: true,
              material_override: null,
              render_overrides: null,
            },
          },
        ],
      },
      { content: 'You cannot create orders; ask an operator.' },
    );
    const replies = await h.conversations.respond(turn, 'Render ACME-KL-6204 as WebP');
    expect(offeredNames(at)).toEqual([
      'check_materials',
      'export_results',
      'get_order_status',
      'get_render_results',
      'get_render_stats',
      'list_orders',
      'query_database',
      'read_file_sheet',
      'search_products',
    ]);
    expect(toolAnswers(at + 1)[0]).toMatch(/^Error: unknown tool "create_order"/);
    const system = String(h.llm.requests[at]!.body.messages[0]!.content);
    expect(system).toContain('This user is a viewer');
    expect(system).not.toContain('create_order');
    expect(replies[0]!.blocks.some((b) => b.type === 'confirm')).toBe(false);
    expect(
      await countOf(h.em(), `select count(*)::int as n from pending_action where session_id = ?`, [turn.sessionId]),
    ).toBe(0);
    h.llm.assertDone();
  });

  it('defaults by kind and lets a tool decide for itself', () => {
    const turn = { tenantId: acme.tenant.id, userId: 'u', sessionId: acme.tenant.id, platform: 'cli' as const };
    const writes = allTools.filter((t) => t.kind === 'write');
    expect(
      writes.every(
        (t) =>
          needsApproval(t) &&
          !isToolEnabled(t, { ...turn, role: 'viewer' }) &&
          isToolEnabled(t, { ...turn, role: 'operator' }),
      ),
    ).toBe(true);
    expect(
      allTools
        .filter((t) => t.kind === 'read')
        .every((t) => !needsApproval(t) && isToolEnabled(t, { ...turn, role: 'viewer' })),
    ).toBe(true);
    const adminOnly = defineTool({
      name: 'x',
      description: 'x',
      kind: 'read',
      parameters: z.object({}),
      isEnabled: (t) => t.role === 'admin',
      run: async () => ({ data: null }),
    });
    expect([
      isToolEnabled(adminOnly, { ...turn, role: 'operator' }),
      isToolEnabled(adminOnly, { ...turn, role: 'admin' }),
    ]).toEqual([false, true]);
  });
});

describe('read tool blocks', () => {
  it('keep the order the model asked for, not the order parallel calls finished in', async () => {
    let fastDone!: () => void;
    const fastRan = new Promise<void>((r) => {
      fastDone = r;
    });
    const slow = defineTool({
      name: 'slow_lookup',
      description: 'slow',
      kind: 'read',
      parameters: z.object({}),
      run: async () => {
        await fastRan;
        return { data: 'slow', blocks: [{ type: 'text', text: 'slow block' }] };
      },
    });
    const fast = defineTool({
      name: 'fast_lookup',
      description: 'fast',
      kind: 'read',
      parameters: z.object({}),
      run: async () => {
        fastDone();
        return { data: 'fast', blocks: [{ type: 'text', text: 'fast block' }] };
      },
    });
    const deps = h.agentDeps({ tools: toolRegistry([slow, fast]) });
    h.llm.enqueue(
      {
        toolCalls: [
          { name: 'slow_lookup', arguments: {} },
          { name: 'fast_lookup', arguments: {} },
        ],
      },
      { content: 'Both done.' },
    );
    const reply = await runAgentTurn(deps, await h.turn(acme.tenant.id), { kind: 'message', text: 'look both up' });
    expect(reply.blocks.map((b) => (b.type === 'text' ? b.text : b.type))).toEqual([
      'Both done.',
      'slow block',
      'fast block',
    ]);
    h.llm.assertDone();
  });
});

describe('plan folding (dispatch_renders into create_order)', () => {
  const create = (outputType: string, submit: boolean) => ({
    name: 'create_order',
    arguments: {
      product_ids: ['ACME-KL-6204', 'ACME-KL-6205'],
      product_filter: null,
      output_type_name: outputType,
      submit,
      material_override: null,
      render_overrides: null,
    },
  });
  const dispatch = { name: 'dispatch_renders', arguments: { order_id: 'the new order' } };

  it('folds a dispatch for the new order into a draft create_order, which then submits, in one step', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue({ content: 'Please confirm.', toolCalls: [dispatch, create('WebP 1024x1024', false)] });
    const [reply] = await h.conversations.respond(turn, 'create a draft and render it');
    const confirm = reply!.blocks.find((b): b is ConfirmBlock => b.type === 'confirm')!;
    expect(confirm.steps).toHaveLength(1);
    expect(confirm.title).toBe('Create order for 2 products and start rendering');
    const [pending] = await rows(
      h.em(),
      z.object({ plan: z.array(z.object({ tool: z.string(), args: z.object({ submit: z.boolean() }) })) }),
      `select plan from pending_action where session_id = ?`,
      [turn.sessionId],
    );
    expect(pending!.plan.map((p) => [p.tool, p.args.submit])).toEqual([['create_order', true]]);
    const answers = await rows(
      h.em(),
      z.object({ tool_name: z.string().nullable(), content: z.string() }),
      `select tool_name, content from chat_message where session_id = ? and role = 'tool' order by seq`,
      [turn.sessionId],
    );
    expect(answers).toEqual([
      {
        tool_name: 'dispatch_renders',
        content: 'Folded into create_order: it is created and submitted in one step, which dispatches its renders.',
      },
      { tool_name: 'create_order', content: expect.stringMatching(/^Awaiting user confirmation/) },
    ]);
    h.llm.assertDone();
  });

  it('does not tell a dispatch it was folded when the create_order failed preparation: it keeps its own error', async () => {
    const turn = await h.turn(acme.tenant.id);
    const at = h.llm.requests.length;
    h.llm.enqueue({ toolCalls: [create('TIFF 9000', true), dispatch] }, { content: 'The output type does not exist.' });
    const replies = await h.conversations.respond(turn, 'render as TIFF');
    expect(texts(replies)).toBe('The output type does not exist.');
    const [createAnswer, dispatchAnswer] = toolAnswers(at + 1);
    expect(createAnswer).toMatch(/^Error: Unknown output type "TIFF 9000"/);
    expect(dispatchAnswer).toMatch(/^Error: .*the new order/);
    expect(dispatchAnswer).not.toContain('Folded');
    expect(
      await countOf(h.em(), `select count(*)::int as n from pending_action where session_id = ?`, [turn.sessionId]),
    ).toBe(0);
    h.llm.assertDone();
  });
});
