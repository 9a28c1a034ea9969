import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgentTurn } from '../core/agent/turn.ts';
import { appendMessage } from '../core/history/messages.ts';
import { GIVE_UP_TEXT, MAX_TURN_ATTEMPTS } from '../core/conversations/drain.ts';
import { itemResult, submitToSession } from '../core/queue/session-inbox.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';
import { createCoreHarness, texts, type CoreHarness } from './support/core.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { z } from 'zod';
import { countOf, rows } from './support/rows.ts';

/*
 * Resuming a turn from what it stored (docs/design.md §4 durability): the model is not asked again for a
 * stored response, a stored confirmation is the answer, and a turn cut off too often ends with a
 * clear message and a consistent history.
 */

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

const deps = () => h.agentDeps();
/**
 * A pending session inbox item for the turn, as the drain passes it: its progress records where
 * the turn's messages begin. The session's lease is held by a process that never runs it, so the
 * harness's turn runner leaves the item alone.
 */
async function inboxItem(turn: {
  tenantId: string;
  sessionId: string;
}): Promise<{ ids: string[]; fromSeq: () => Promise<string> }> {
  await h.em().execute(
    `insert into session_lease (session_id, owner, expires_at) values (?, 'elsewhere', now() + interval '10 minutes')
       on conflict (session_id) do update set owner = excluded.owner, expires_at = excluded.expires_at`,
    [turn.sessionId],
  );
  const id = (await submitToSession(h.em(), turn, { task: 'step', payload: {} }))!;
  return {
    ids: [id],
    fromSeq: async () => {
      const item = await itemResult(h.em(), id);
      expect(item?.done).toBe(false);
      return item!.progress.fromSeq!;
    },
  };
}
const count = async (sql: string, params: unknown[]) => countOf(h.em(), sql, params);

describe('a resumed turn', () => {
  it('whose confirmation was stored answers with it: no model call, no second plan', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue({
      content: 'Shall I?',
      toolCalls: [
        {
          name: 'create_order',
          arguments: {
            product_ids: ['ACME-KL-6204'],
            output_type_name: 'WebP 1024x1024',
            submit: true,
            material_override: null,
            render_overrides: null,
          },
        },
      ],
    });
    const item = await inboxItem(turn);
    const first = await runAgentTurn(
      deps(),
      turn,
      { kind: 'message', text: 'render the 6204' },
      { inboxItems: item.ids },
    );
    const requests = h.llm.requests.length;
    // The process died after the plan was stored, before the answer reached the platform.
    const fromSeq = await item.fromSeq();
    expect(
      await count(
        `select count(*)::int as n from chat_message where seq = ? and role = 'user' and content = 'render the 6204'`,
        [fromSeq],
      ),
    ).toBe(1);
    const again = await runAgentTurn(
      deps(),
      turn,
      { kind: 'message', text: 'render the 6204' },
      { resumeFrom: fromSeq },
    );
    expect(again).toEqual(first);
    expect(again.blocks.map((b) => b.type)).toEqual(['text', 'confirm']);
    expect(h.llm.requests.length).toBe(requests);
    expect(await count(`select count(*)::int as n from pending_action where session_id = ?`, [turn.sessionId])).toBe(1);
    expect(
      await count(`select count(*)::int as n from chat_message where session_id = ? and role = 'user'`, [
        turn.sessionId,
      ]),
    ).toBe(1);
    h.llm.assertDone();
  });

  it('stopped while the model thought about round two resumes with round two: the first round is not asked for again', async () => {
    const turn = await h.turn(acme.tenant.id);
    let arrived!: () => void;
    const waiting = new Promise<void>((r) => {
      arrived = r;
    });
    h.llm.enqueue({ toolCalls: [{ name: 'list_orders', arguments: { status: null, limit: null } }] }, () => {
      arrived();
      return { hang: true };
    });
    const stop = new AbortController();
    const item = await inboxItem(turn);
    const cut = runAgentTurn(
      deps(),
      turn,
      { kind: 'message', text: 'which orders are there?' },
      { signal: stop.signal, inboxItems: item.ids },
    );
    await waiting;
    stop.abort(new Error('shutting down'));
    await expect(cut).rejects.toThrow();
    const fromSeq = await item.fromSeq();
    let resumed: FakeLlmRequest | undefined;
    h.llm.enqueue((req) => {
      resumed = req;
      return { content: 'There are no orders yet.' };
    });
    const reply = await runAgentTurn(
      deps(),
      turn,
      { kind: 'message', text: 'which orders are there?' },
      { resumeFrom: fromSeq },
    );
    expect(texts([reply])).toBe('There are no orders yet.');
    const roles = resumed!.body.messages.map((m) => m.role);
    expect(roles.slice(-3)).toEqual(['user', 'assistant', 'tool']);
    expect(
      await count(`select count(*)::int as n from chat_message where session_id = ? and tool_calls is not null`, [
        turn.sessionId,
      ]),
    ).toBe(1);
    h.llm.assertDone();
  });
});

describe('a message cut off too often', () => {
  it(`is answered "${GIVE_UP_TEXT}" after ${MAX_TURN_ATTEMPTS} interrupted attempts; its open tool call is closed so the session stays usable`, async () => {
    const turn = await h.turn(acme.tenant.id);
    const em = h.em();
    const user = await appendMessage(em, {
      tenantId: turn.tenantId,
      sessionId: turn.sessionId,
      userId: turn.userId,
      role: 'user',
      content: 'count everything',
    });
    await appendMessage(em, {
      tenantId: turn.tenantId,
      sessionId: turn.sessionId,
      role: 'assistant',
      content: '',
      toolCalls: [{ id: 'call_lost', name: 'get_render_stats', arguments: '{}' }],
    });
    const start = h.delivered.length;
    // Three attempts were started and cut off (as three processes dying in turn would leave it).
    await em.execute(
      `insert into turn_inbox (tenant_id, session_id, task, payload, attempts, started_at, progress) values (?, ?, 'turn', ?::jsonb, ?, now(), ?::jsonb)`,
      [
        turn.tenantId,
        turn.sessionId,
        JSON.stringify({ turn, text: 'count everything', delivery: h.delivery }),
        MAX_TURN_ATTEMPTS,
        JSON.stringify({ fromSeq: String(user.seq) }),
      ],
    );
    await h.deliveredCount(start + 1);
    expect(texts([h.delivered[start]!.reply])).toBe(GIVE_UP_TEXT);
    const stored = await rows(
      h.em(),
      z.object({ role: z.string(), content: z.string(), tool_call_id: z.string().nullable() }),
      `select role, content, tool_call_id from chat_message where session_id = ? order by seq`,
      [turn.sessionId],
    );
    expect(stored.map((r) => [r.role, r.tool_call_id])).toEqual([
      ['user', null],
      ['assistant', null],
      ['tool', 'call_lost'],
      ['assistant', null],
    ]);
    expect(stored.at(-1)!.content).toBe(GIVE_UP_TEXT);
    // The session goes on: the next message reaches the model with a consistent history.
    h.llm.enqueue({ content: 'Here you go.' });
    await h.conversations.submit({ turn, text: 'try again please', delivery: h.delivery });
    await h.deliveredCount(start + 2);
    expect(texts([h.delivered[start + 1]!.reply])).toBe('Here you go.');
    h.llm.assertDone();
  });
});
