import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import {
  agentSessionStoppedEvent,
  buttonClick,
  mentionEvent,
  threadReplyEvent,
  type Who,
} from './fakes/slack-request.ts';
import type { FakeLlmRequest, FakeStep } from './fakes/llm-server.ts';
import type { SlackCall } from './fakes/slack-api.ts';
import { countOf } from './support/rows.ts';

/*
 * A Stop that stops, from Slack (docs/design.md §12): the placeholder's Stop button
 * (block_actions), the agent session's stop event and the word `stop` abort the model request in
 * flight; the placeholder becomes "Stopped by …" and nothing else is posted; the next message is
 * answered; a guest (viewer) who did not ask is refused privately.
 */

let h: SlackHarness;
const bot = { botUserId: TEAM.botUserId };
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };
const guest: Who = { ...alice, userId: 'U0GUEST001' };

function held(): { step: FakeStep; arrived: Promise<FakeLlmRequest> } {
  let arrive!: (req: FakeLlmRequest) => void;
  const arrived = new Promise<FakeLlmRequest>((r) => {
    arrive = r;
  });
  return {
    step: (req) => {
      arrive(req);
      return { hang: true };
    },
    arrived,
  };
}

beforeAll(async () => {
  h = await startSlackHarness();
  await h.acmeWithAlice(alice.userId);
  h.slack.addUser({ id: guest.userId, teamId: TEAM.teamId, name: 'gast', is_restricted: true });
});
afterAll(async () => {
  await h?.close();
});

/** Starts a turn held at the model in a new channel thread; its placeholder (with the Stop button). */
async function heldTurn(text: string): Promise<{ threadTs: string; placeholder: SlackCall; sessionId: string }> {
  const hold = held();
  h.llm.enqueue(hold.step);
  const env = mentionEvent(alice, text, bot);
  expect((await h.send.event(env)).status).toBe(200);
  const placeholder = await h.slack.waitFor(
    'chat.postMessage',
    (c) => c.body.thread_ts === env.event.ts && JSON.stringify(c.body.blocks ?? []).includes('renderbot.stop'),
  );
  await hold.arrived;
  const stop = (placeholder.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find(
    (b) => b.type === 'actions',
  )!.elements![0]!;
  return { threadTs: env.event.ts as string, placeholder, sessionId: stop.value };
}

/** What the bot shows in the thread now, oldest first (the fake keeps messages as edited). */
const thread = (threadTs: string) => h.slack.messages(alice.channel, threadTs).map((m) => m.text);

describe('Stop from Slack', () => {
  it('the Stop button on the placeholder aborts the model request; the placeholder becomes "Stopped by …"; the next message is answered', async () => {
    const { threadTs, placeholder, sessionId } = await heldTurn('which orders failed?');
    const closed = h.llm.whenClientClosed();
    const click = buttonClick(alice, {
      actionId: 'renderbot.stop',
      value: sessionId,
      messageTs: placeholder.response!.ts as string,
      threadTs,
      responseUrl: `${h.slack.apiUrl}/response/1`,
    });
    const res = await h.send.action(click);
    expect(res.status).toBe(200);
    // Acknowledged once the stop was stored, and not kept for a replay (a late one would stop newer turns).
    expect(
      await countOf(h.em(), `select count(*) as n from inbound_event where event_id = ?`, [click.trigger_id]),
    ).toBe(0);
    await closed;
    await h.slack.waitFor(
      'chat.update',
      (c) => c.body.ts === placeholder.response!.ts && String(c.body.text).startsWith('Stopped by'),
    );
    expect(thread(threadTs)).toEqual(['Stopped by Alice Example.']);

    h.llm.enqueue({ content: 'Two orders failed.' });
    expect((await h.send.event(mentionEvent(alice, 'and now?', { ...bot, threadTs }))).status).toBe(200);
    await h.slack.waitFor('chat.update', (c) => c.body.text === 'Two orders failed.');
    expect(thread(threadTs)).toEqual(['Stopped by Alice Example.', 'Two orders failed.']);
    h.llm.assertDone();
  });

  it("the agent session's stop event and the word `stop` stop the turn of the thread", async () => {
    const first = await heldTurn('summarise this month');
    let closed = h.llm.whenClientClosed();
    expect((await h.send.event(agentSessionStoppedEvent(alice, { threadTs: first.threadTs }))).status).toBe(200);
    await closed;
    await h.slack.waitFor(
      'chat.update',
      (c) => c.body.ts === first.placeholder.response!.ts && String(c.body.text).startsWith('Stopped by'),
    );

    const second = await heldTurn('summarise last month');
    closed = h.llm.whenClientClosed();
    expect((await h.send.event(threadReplyEvent(alice, 'stop', { threadTs: second.threadTs }))).status).toBe(200);
    await closed;
    await h.slack.waitFor(
      'chat.update',
      (c) => c.body.ts === second.placeholder.response!.ts && String(c.body.text).startsWith('Stopped by'),
    );
    expect(thread(second.threadTs)).toEqual(['Stopped by Alice Example.']);
    h.llm.assertDone();
  });

  it('a guest who did not ask is refused privately and the turn goes on', async () => {
    const { threadTs, placeholder, sessionId } = await heldTurn('what is rendering?');
    const closedBefore = h.llm.clientClosed.length;
    await h.send.action(
      buttonClick(guest, {
        actionId: 'renderbot.stop',
        value: sessionId,
        messageTs: placeholder.response!.ts as string,
        threadTs,
        responseUrl: `${h.slack.apiUrl}/response/2`,
      }),
    );
    const refusal = await h.slack.waitFor(
      'chat.postEphemeral',
      (c) => c.body.user === guest.userId && String(c.body.text).includes('Only the person who asked'),
    );
    expect(refusal.body.thread_ts).toBe(threadTs);
    expect(h.llm.clientClosed.length).toBe(closedBefore);
    // The one who asked can.
    const closed = h.llm.whenClientClosed();
    await h.send.action(
      buttonClick(alice, {
        actionId: 'renderbot.stop',
        value: sessionId,
        messageTs: placeholder.response!.ts as string,
        threadTs,
        responseUrl: `${h.slack.apiUrl}/response/3`,
      }),
    );
    await closed;
    await h.slack.waitFor(
      'chat.update',
      (c) => c.body.ts === placeholder.response!.ts && String(c.body.text).startsWith('Stopped by'),
    );
  });
});
