import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOf } from './support/rows.ts';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import type { SlackCall } from './fakes/slack-api.ts';
import { dmEvent, mentionEvent, newTs, slackFixture, type Who } from './fakes/slack-request.ts';
import { SUGGESTIONS_BLOCK_ID } from '../adapters/slack/suggestions-render.ts';
import { LATEST_ORDERS } from '../core/tools/next-steps.ts';

let h: SlackHarness;
let ids = 0;
/** A unique suffix for Slack-looking ids of this file. */
const uniq = () => `S${String(++ids).padStart(6, '0')}`;
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };
const bot = { botUserId: TEAM.botUserId };

type Block = {
  type: string;
  block_id?: string;
  elements?: { action_id: string; value: string; text: { text: string } }[];
};
const buttonsOf = (c: SlackCall) =>
  ((c.body.blocks ?? []) as Block[]).find((b) => b.block_id === SUGGESTIONS_BLOCK_ID)?.elements ?? [];
const userMessages = (content: string) =>
  countOf(h.em(), `select count(*)::int as n from chat_message where role = 'user' and content = ?`, [content]);

/** The model searches the Kugellager (three products) and says so. */
function scriptSearch() {
  h.llm.enqueue(
    { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 25 } }] },
    { content: 'Three Kugellager products match.' },
  );
}

/** A block_actions payload (block_actions.json) for a click on suggestion button `actionId` of the message `messageTs`. */
function suggestionClick(
  who: Who,
  o: { actionId: string; value: string; messageTs: string; threadTs?: string; blocks: unknown[] },
) {
  const p = slackFixture('block_actions');
  p.user = { id: who.userId, username: who.userId.toLowerCase(), name: who.userId.toLowerCase(), team_id: who.teamId };
  p.team = { id: who.teamId, domain: who.teamId.toLowerCase() };
  p.channel = { id: who.channel, name: 'renders' };
  p.container = {
    type: 'message',
    message_ts: o.messageTs,
    channel_id: who.channel,
    is_ephemeral: false,
    ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
  };
  p.message = {
    ...p.message,
    ts: o.messageTs,
    team: who.teamId,
    text: 'Three Kugellager products match.',
    blocks: o.blocks,
  };
  if (o.threadTs) p.message.thread_ts = o.threadTs;
  else delete p.message.thread_ts;
  p.response_url = h.slack.responseUrl();
  p.trigger_id = `${uniq()}.1395872398.${uniq()}`;
  p.actions[0] = {
    ...p.actions[0],
    action_id: o.actionId,
    value: o.value,
    block_id: SUGGESTIONS_BLOCK_ID,
    action_ts: newTs(),
    text: { type: 'plain_text', text: o.value, emoji: false },
  };
  delete p.actions[0].style;
  return p;
}

beforeAll(async () => {
  h = await startSlackHarness();
  await h.acmeWithAlice(alice.userId);
});
afterAll(async () => {
  await h?.close();
});

describe('Slack suggestions', () => {
  it("in a channel thread: buttons under the answer; a double click sends the text once, as the clicker's message in that thread", async () => {
    scriptSearch();
    const env = mentionEvent(alice, 'Which Kugellager products are there?', bot);
    const from = h.slack.calls.length;
    expect((await h.send.event(env)).status).toBe(200);
    const { update: answer } = await h.answer((c) => c.body.thread_ts === env.event.ts);
    const buttons = buttonsOf(answer);
    expect(buttons.map((b) => [b.action_id, b.text.text, b.value])).toEqual([
      ['renderbot.suggest.0', 'Render these 3 products', 'Render these 3 products'],
    ]);
    // Not an AI app thread: no suggested prompts.
    expect(
      h.slack.callsOf('assistant.threads.setSuggestedPrompts').filter((c) => h.slack.calls.indexOf(c) >= from),
    ).toEqual([]);

    // Two clicks (Slack sends one payload per click, each with its own action_ts) start one turn.
    h.llm.enqueue({ content: 'Which output type should they have?' });
    const calls = h.llm.requests.length;
    const clickFrom = h.slack.calls.length;
    const click = () =>
      suggestionClick(alice, {
        actionId: buttons[0]!.action_id,
        value: buttons[0]!.value,
        messageTs: String(answer.body.ts),
        threadTs: env.event.ts as string,
        blocks: answer.body.blocks as unknown[],
      });
    const [first, second] = await Promise.all([h.send.action(click()), h.send.action(click())]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const { update: next } = await h.answer((c) => c.body.thread_ts === env.event.ts, { from: clickFrom });
    expect(next.body.text).toBe('Which output type should they have?');
    expect(h.llm.requests.length - calls).toBe(1);
    expect(await userMessages('Render these 3 products')).toBe(1);
    // The clicked answer now says who chose what, instead of offering the buttons again.
    const marked = await h.slack.waitFor(
      'chat.update',
      (c) => c.body.ts === answer.body.ts && JSON.stringify(c.body.blocks).includes('asked:'),
      { from: clickFrom },
    );
    expect(buttonsOf(marked)).toEqual([]);
    expect(JSON.stringify(marked.body.blocks)).toContain(`<@${alice.userId}> asked: Render these 3 products`);
    h.llm.assertDone();
    expect(h.slack.failures).toEqual([]);
  });

  it("a new AI app thread starts with prompts from the tenant's state (assistant_thread_started)", async () => {
    const threadTs = newTs();
    const from = h.slack.calls.length;
    // As Slack sends it: the thread in the app's DM, and the channel the person was looking at as context.
    const env = {
      token: 'XXYYZZ',
      team_id: TEAM.teamId,
      api_app_id: 'A0RENDERBOT',
      type: 'event_callback',
      event_id: `Ev${uniq()}A`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [
        {
          enterprise_id: null,
          team_id: TEAM.teamId,
          user_id: TEAM.botUserId,
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
      event: {
        type: 'assistant_thread_started',
        event_ts: newTs(),
        assistant_thread: {
          user_id: alice.userId,
          context: { channel_id: alice.channel, team_id: TEAM.teamId, enterprise_id: null },
          channel_id: 'D0ALICEDM1',
          thread_ts: threadTs,
        },
      },
    };
    expect((await h.send.event(env)).status).toBe(200);
    const prompts = await h.slack.waitFor(
      'assistant.threads.setSuggestedPrompts',
      (c) => c.body.thread_ts === threadTs,
      { from },
    );
    expect(prompts.response).toMatchObject({ ok: true });
    // No order yet in this tenant: the latest orders.
    expect(prompts.body).toMatchObject({
      channel_id: 'D0ALICEDM1',
      title: 'Where to start',
      prompts: [{ title: LATEST_ORDERS, message: LATEST_ORDERS }],
    });
    expect(h.slack.failures).toEqual([]);
  });

  it("in an AI app thread: the answer sets the thread's suggested prompts (title and message) instead of buttons", async () => {
    scriptSearch();
    const dm = { ...alice, channel: 'D0ALICEDM1' };
    const threadTs = newTs();
    const from = h.slack.calls.length;
    await h.send.event(dmEvent(dm, 'Which Kugellager products are there?', { threadTs }));
    const prompts = await h.slack.waitFor(
      'assistant.threads.setSuggestedPrompts',
      (c) => c.body.thread_ts === threadTs,
      { from },
    );
    expect(prompts.response).toMatchObject({ ok: true });
    expect(prompts.body).toMatchObject({
      channel_id: dm.channel,
      title: 'Next steps',
      prompts: [{ title: 'Render these 3 products', message: 'Render these 3 products' }],
    });
    const answers = h.slack.calls
      .slice(from)
      .filter(
        (c) =>
          (c.method === 'chat.update' || c.method === 'chat.postMessage') &&
          c.body.channel === dm.channel &&
          String(c.body.text).includes('Three Kugellager'),
      );
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.flatMap(buttonsOf)).toEqual([]);
    h.llm.assertDone();
    expect(h.slack.failures).toEqual([]);
  });
});
