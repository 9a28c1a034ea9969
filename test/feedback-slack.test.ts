import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTenant, makeTurn, type TenantFixture } from './support/fixtures.ts';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { feedbackClick, mentionEvent, type Who } from './fakes/slack-request.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { appendMessage } from '../core/history/messages.ts';
import { FEEDBACK_THANKS } from '../adapters/slack/feedback.ts';
import { feedbackRow } from '../core/history/feedback.ts';
import { randomUUID } from 'node:crypto';
import type { LooseJson } from './support/loose-json.ts';
import { storeRequest } from '../core/queue/inbound-requests.ts';
import { freePort } from './support/db.ts';
import { rows } from './support/rows.ts';
import { z } from 'zod';

let h: SlackHarness;
let acme: TenantFixture;
let globex: TenantFixture;
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };
const bot = { botUserId: TEAM.botUserId };

beforeAll(async () => {
  h = await startSlackHarness({ publicUrl: true });
  acme = await h.acmeWithAlice(alice.userId);
  globex = await makeTenant(h.em(), 'globex', { prefix: 'GLOBEX' });
});
afterAll(async () => {
  await h?.close();
});

type Block = { type: string; block_id?: string; elements?: LooseJson[] };
/** A stored feedback row as admins read it, without the ids and time the tests do not pin. */
const storedFeedback = feedbackRow.omit({ answer_id: true, session_id: true, updated_at: true });
const feedbackRows = (answerId: string) =>
  rows(
    h.em(),
    storedFeedback,
    `select platform, user_id, rating, reason, model, request, answer, tools, prompt_tokens, completion_tokens, latency_ms from answer_feedback where message_id = ?`,
    [answerId],
  );

/** The stored copy of a click: whether it is marked handled and its body dropped. */
const storedCopy = z.object({ handled: z.boolean(), dropped: z.boolean() });

/** Resolves once the stored copy of a click is marked handled and its body dropped (replays look every 2 s). */
const handledOnce = (triggerId: string) =>
  vi.waitFor(
    async () =>
      expect(
        await rows(
          h.em(),
          storedCopy,
          `select handled_at is not null as handled, request is null as dropped from inbound_event where platform = 'slack' and event_id = ?`,
          [triggerId],
        ),
      ).toEqual([{ handled: true, dropped: true }]),
    { timeout: 30_000, interval: 100 },
  );

/** Alice's 👍 or 👎 on `answerId`, under the message at `messageTs`. */
const aliceRates = (rating: 'up' | 'down', answerId: string, messageTs: string) =>
  feedbackClick(alice, { value: `${rating}:${answerId}`, messageTs, responseUrl: h.slack.responseUrl() });

/**
 * What a process leaves behind when it dies right after acknowledging a click: the stored copy
 * only. Resolves once the copy was replayed and handled.
 */
async function replayedFromStore(click: ReturnType<typeof feedbackClick>): Promise<void> {
  expect(await storeRequest(h.app.db.intakePool, 'slack', click.trigger_id, { body: click }, 0)).toBe(true);
  await handledOnce(click.trigger_id);
}

/** An agent answer in a session of `tenantId`'s history, as a turn leaves it; its id. */
async function storedAnswer(tenantId: string, text: string): Promise<string> {
  const turn = await makeTurn(h.em(), tenantId);
  const id = randomUUID();
  await appendMessage(h.em(), {
    id,
    tenantId,
    sessionId: turn.sessionId,
    role: 'assistant',
    content: text,
    reply: { blocks: [{ type: 'text', text }], answer: { id, sources: [] } },
  });
  return id;
}

describe('Slack: an agent answer is labelled, cites its records and takes feedback', () => {
  it('shows the AI label with the order and count it used, and 👍/👎 that store one row per person (a second click replaces the first)', async () => {
    const order = await createOrder(h.em(), acme.tenant.id, {
      products: { refs: ['ACME-KL-6204'] },
      outputTypeName: 'WebP 1024x1024',
      submit: false,
      createdBy: 'seed',
      now: new Date(),
    });
    h.llm.enqueue(
      {
        toolCalls: [
          { name: 'get_order_status', arguments: { order_id: order.orderNumber } },
          { name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 5 } },
        ],
        usage: { promptTokens: 300, completionTokens: 20 },
      },
      {
        content: `Order ${order.orderNumber} is a draft; there are 3 Kugellager products.`,
        usage: { promptTokens: 400, completionTokens: 30 },
      },
    );
    const ask = mentionEvent(alice, `how is ${order.orderNumber} doing?`, bot);
    expect((await h.send.event(ask)).status).toBe(200);
    const { update } = await h.answer((c) => c.body.thread_ts === ask.event.ts);
    const blocks = update.body.blocks as Block[];

    // The label and sources: a context line, orders linked to their signed results pages.
    const label = blocks.at(-2)!;
    expect(label.type).toBe('context');
    const line = String(label.elements![0]!.text);
    expect(line).toContain('AI-generated');
    expect(line).toMatch(
      new RegExp(
        `Sources: <${h.base}/orders/${order.orderId}/results\\?exp=\\d+&sig=[0-9a-f]{64}\\|${order.orderNumber}> · \\d+ products in category "?Kugellager`,
      ),
    );

    // The feedback buttons, valid Block Kit (the fake Slack checks context_actions as documented).
    const actions = blocks.at(-1)!;
    expect(actions.type).toBe('context_actions');
    const buttons = actions.elements![0]!;
    expect(buttons).toMatchObject({ type: 'feedback_buttons', action_id: 'renderbot.feedback' });
    const up = String(buttons.positive_button.value);
    const down = String(buttons.negative_button.value);
    const answerId = up.slice(3);
    expect(up).toBe(`up:${answerId}`);
    expect(down).toBe(`down:${answerId}`);
    expect(h.slack.failures).toEqual([]);

    const messageTs = String(update.body.ts);
    let from = h.slack.calls.length;
    await h.send.action(
      feedbackClick(alice, {
        value: up,
        messageTs,
        threadTs: String(ask.event.ts),
        responseUrl: h.slack.responseUrl(),
      }),
    );
    const thanks = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === alice.userId, { from });
    expect(thanks.body.text).toBe(FEEDBACK_THANKS.up);
    expect(await feedbackRows(answerId)).toEqual([
      {
        platform: 'slack',
        user_id: alice.userId,
        rating: 'up',
        reason: null,
        model: 'gpt-4o',
        request: `how is ${order.orderNumber} doing?`,
        answer: `Order ${order.orderNumber} is a draft; there are 3 Kugellager products.`,
        tools: ['get_order_status', 'search_products'],
        prompt_tokens: 700,
        completion_tokens: 50,
        latency_ms: expect.any(Number),
      },
    ]);

    from = h.slack.calls.length;
    await h.send.action(
      feedbackClick(alice, {
        value: down,
        messageTs,
        threadTs: String(ask.event.ts),
        responseUrl: h.slack.responseUrl(),
      }),
    );
    expect((await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === alice.userId, { from })).body.text).toBe(
      FEEDBACK_THANKS.down,
    );
    expect((await feedbackRows(answerId)).map((r) => r.rating)).toEqual(['down']);
  });

  it("refuses another tenant's answer id and changes nothing", async () => {
    const foreign = await storedAnswer(globex.tenant.id, 'a globex answer');
    const from = h.slack.calls.length;
    await h.send.action(
      feedbackClick(alice, {
        value: `down:${foreign}`,
        messageTs: '1764058000.000500',
        responseUrl: h.slack.responseUrl(),
      }),
    );
    expect((await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === alice.userId, { from })).body.text).toBe(
      FEEDBACK_THANKS.notFound,
    );
    expect(await feedbackRows(foreign)).toEqual([]);
  });

  it('a click is stored before it is acknowledged: one left unhandled (the process died after acknowledging it) is replayed and recorded once', async () => {
    const answerId = await storedAnswer(acme.tenant.id, 'an acme answer');
    // A live click: stored under its trigger id, marked handled once its listener finished.
    const live = aliceRates('up', answerId, '1764058000.000600');
    expect((await h.send.action(live)).status).toBe(200);
    await handledOnce(live.trigger_id);
    expect((await feedbackRows(answerId)).map((r) => r.rating)).toEqual(['up']);

    // A 👎 whose process died right after acknowledging it.
    await replayedFromStore(aliceRates('down', answerId, '1764058000.000600'));
    expect((await feedbackRows(answerId)).map((r) => r.rating)).toEqual(['down']);
  }, 90_000);

  it("a replayed click never replaces the person's newer one: Slack's action_ts orders them", async () => {
    const answerId = await storedAnswer(acme.tenant.id, 'an answer clicked twice');
    // 👎 clicked first, its handling cut short (only the stored copy is left); 👍 clicked a minute later, handled.
    const older = aliceRates('down', answerId, '1764058000.000650');
    older.actions[0]!.action_ts = `${Math.floor(Date.now() / 1000) - 60}.000100`;
    const newer = aliceRates('up', answerId, '1764058000.000650');
    expect((await h.send.action(newer)).status).toBe(200);
    await handledOnce(newer.trigger_id);
    const from = h.slack.calls.length;
    await replayedFromStore(older);
    expect((await feedbackRows(answerId)).map((r) => r.rating)).toEqual(['up']);
    // The person is not thanked for the 👎 that did not count.
    const told = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === alice.userId, { from });
    expect(told.body.text).toBe(FEEDBACK_THANKS.superseded);
  }, 90_000);

  it.each([
    {
      what: 'answers HTTP 404',
      channel: 'C0BROKEN01',
      responseUrl: async () => `${h.slack.apiUrl}/no-such-response-url`,
    },
    {
      // A refused connection carries the same ECONNREFUSED as a refused database connection: it is Slack's failure.
      what: 'refuses connections',
      channel: 'C0NOREACH1',
      responseUrl: async () => `http://127.0.0.1:${await freePort()}/actions/T0TEAM0001/1/closed`,
    },
  ])(
    'a click whose private answer failed after its work was done (Slack refused it; the response_url $what) is handled, not replayed, and the database is not taken for lost',
    async ({ channel, responseUrl }) => {
      const answerId = await storedAnswer(acme.tenant.id, `an acme answer clicked in ${channel}`);
      const broken: Who = { ...alice, channel };
      h.slack.failChannel(channel, 'channel_not_found');
      const click = feedbackClick(broken, {
        value: `up:${answerId}`,
        messageTs: '1764058000.000700',
        responseUrl: await responseUrl(),
      });
      expect((await h.send.action(click)).status).toBe(200);
      await handledOnce(click.trigger_id);
      expect((await feedbackRows(answerId)).map((r) => r.rating)).toEqual(['up']);
      expect(h.app.db.availability.up).toBe(true);
      expect(h.logs.lines.some((l) => String(l.msg).startsWith('database unreachable'))).toBe(false);
    },
    60_000,
  );
});
