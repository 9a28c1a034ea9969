import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TenantFixture } from './support/fixtures.ts';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { streamedText } from './fakes/slack-api.ts';
import {
  buttonClick,
  dmEvent,
  homeOpened,
  mentionEvent,
  newTs,
  slackFixture,
  slashCommand,
  threadReplyEvent,
  type Who,
} from './fakes/slack-request.ts';
import { proposeKugellagerOrder as proposeKugellagerOrder_, shown } from './support/slack-flows.ts';
import { PLACEHOLDER_TEXT, WORKING_STATUS } from '../adapters/slack/messages.ts';
import { escapeMrkdwn } from '../adapters/slack/render.ts';
import { lastNote, saidIn, systemText } from './support/prompt.ts';
import { PERSON_FACTS_TTL_MS } from '../core/conversations/identify.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { setUserRole } from '../core/tenancy/users.ts';
import { z } from 'zod';
import { countOf, row, rows } from './support/rows.ts';
import { idRow } from '../core/db/sql.ts';

let h: SlackHarness;
let acme: TenantFixture;
/** How far the bot's clock runs ahead of the real one (cache lifetimes pass without sleeping). */
let skew = 0;
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };
const guest: Who = { teamId: TEAM.teamId, userId: 'U0GUEST001', channel: 'C0RENDERS1' };
const bot = { botUserId: TEAM.botUserId };

beforeAll(async () => {
  h = await startSlackHarness({ now: () => new Date(Date.now() + skew) });
  acme = await h.acmeWithAlice(alice.userId);
  h.slack.addUser({ id: guest.userId, teamId: TEAM.teamId, name: 'gast', is_restricted: true });
});
afterAll(async () => {
  await h?.close();
});

const orderCount = async () =>
  countOf(h.em(), `select count(*)::int as n from render_order where tenant_id = ?`, [acme.tenant.id]);
const proposeKugellagerOrder = (who: Who) => proposeKugellagerOrder_(h, who, bot);
const keyRow = z.object({ key: z.string() });
const statusRow = z.object({ status: z.string() });
const roleRow = z.object({ role: z.string() });
const sessionCount = z.object({ n: z.number(), archived: z.number() });
/** A person's role in a tenant and where it came from. */
const userRole = z.object({ role: z.string(), role_source: z.string() });
/** The sessions stored under `key`, and how many of them are archived. */
const sessionsUnder = async (key: string) =>
  row(
    h.em(),
    sessionCount,
    `select count(*)::int as n, count(archived_at)::int as archived from chat_session where key = ?`,
    [key],
  );
const actionStatus = async (actionId: string) =>
  rows(h.em(), statusRow, `select status from pending_action where id = ?`, [actionId]);
const roleOfUser = async (userId: string) =>
  rows(h.em(), roleRow, `select role from tenant_user where external_user_id = ?`, [userId]);

describe('Slack request verification', () => {
  it('answers url_verification with the challenge', async () => {
    const res = await h.send.event(slackFixture('url_verification'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  it('rejects a bad signature and a stale timestamp with 401 and does nothing', async () => {
    const before = h.slack.calls.length;
    const bad = await h.send.event(mentionEvent(alice, 'hello', bot), { secret: 'not-the-secret' });
    expect(bad.status).toBe(401);
    const stale = await h.send.event(mentionEvent(alice, 'hello', bot), {
      timestamp: Math.floor(Date.now() / 1000) - 10 * 60,
    });
    expect(stale.status).toBe(401);
    const unsignedCommand = await fetch(`${h.base}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'command=%2Frender&text=help',
    });
    expect(unsignedCommand.status).toBe(401);
    // Slack's SSL check is unsigned and answered 200, as Bolt answers it; a command smuggled into it is never run.
    const sslCheck = await fetch(`${h.base}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ssl_check=1&token=x&command=%2Frender&text=help&response_url=http%3A%2F%2F127.0.0.1%3A1%2F',
    });
    expect(sslCheck.status).toBe(200);
    expect(await sslCheck.text()).toBe('');
    expect(h.slack.calls.length).toBe(before);
    expect(h.llm.requests.length).toBe(0);
  });
});

describe('/render', () => {
  it('help is answered privately through response_url', async () => {
    const url = h.slack.responseUrl();
    const res = await h.send.command(slashCommand(alice, 'help', url));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    const answer = await h.slack.waitFor('response_url', (c) => c.path === new URL(url).pathname);
    expect(answer.body.response_type).toBe('ephemeral');
    expect(shown(answer)).toContain('orders [status]');
    expect(shown(answer)).toContain('link &lt;code&gt;');
  });

  it('orders lists the linked tenant’s orders without any AI', async () => {
    const url = h.slack.responseUrl();
    await h.send.command(slashCommand(alice, 'orders', url));
    const answer = await h.slack.waitFor('response_url', (c) => c.path === new URL(url).pathname);
    expect(shown(answer)).toMatch(/No orders found|Latest orders/);
    expect(shown(answer)).not.toContain('not linked');
  });

  it('free text starts a thread on the bot’s message and the answer follows there', async () => {
    h.llm.enqueue({ content: 'Kugellager are ball bearings.' });
    const url = h.slack.responseUrl();
    const cmd = slashCommand(alice, 'what are Kugellager?', url);
    await h.send.command(cmd);
    const root = await h.slack.waitFor('chat.postMessage', (c) =>
      String(c.body.text).includes('asked: what are Kugellager?'),
    );
    expect(root.body.thread_ts).toBeUndefined();
    const reply = await h.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === root.response!.ts);
    expect(reply.body.text).toContain('Kugellager are ball bearings.');
    expect(await h.logs.outcome(cmd.trigger_id!)).toBe('queued');
    h.llm.assertDone();
  });

  it('free text in a channel without the bot says how to invite it', async () => {
    h.slack.failChannel('C0NOBOT001', 'not_in_channel');
    const url = h.slack.responseUrl();
    const cmd = slashCommand({ ...alice, channel: 'C0NOBOT001' }, 'how many orders failed?', url);
    await h.send.command(cmd);
    const answer = await h.slack.waitFor('response_url', (c) => c.path === new URL(url).pathname);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(answer.body.text)).toContain('/invite @RenderBot');
    expect(await h.logs.outcome(cmd.trigger_id!)).toBe('not_in_channel');
    expect(h.llm.pending).toBe(0);
  });
});

describe('mentions and DMs', () => {
  it('queues free text; a placeholder is posted in the thread and replaced by the model answer, with the team token', async () => {
    h.llm.enqueue({ content: 'Hello from the model.' });
    const env = mentionEvent(alice, 'what can you do?', bot);
    const res = await h.send.event(env);
    expect(res.status).toBe(200);
    const { placeholder, update } = await h.answer((c) => c.body.thread_ts === env.event.ts);
    const ts = String(placeholder.response!.ts);
    expect(placeholder.token).toBe(TEAM.token);
    expect(placeholder.body).toMatchObject({ channel: alice.channel, text: '_Working on it…_' });
    expect(update.token).toBe(TEAM.token);
    expect(update.body).toMatchObject({ channel: alice.channel, ts });
    expect(update.body.text).toContain('Hello from the model.');
    await h.logs.waitFor((l) => l.msg === 'slack reply posted' && l.ts === ts && l.replaced === true);
    // No extra message for the first reply: the thread holds just the answer, in the placeholder's place.
    expect(h.slack.callsOf('chat.postMessage', (c) => c.body.thread_ts === env.event.ts)).toHaveLength(1);
    expect(h.slack.messages(alice.channel, env.event.ts)).toEqual([
      expect.objectContaining({ ts, text: update.body.text }),
    ]);
    const lastUser = h.llm.requests
      .at(-1)!
      .body.messages.filter((m) => m.role === 'user')
      .at(-1);
    expect(lastUser?.content).toBe('what can you do?');
    const session = await rows(h.em(), keyRow, `select key from chat_session where platform = 'slack' and key = ?`, [
      `${TEAM.teamId}:${alice.channel}:${env.event.ts}`,
    ]);
    expect(session).toHaveLength(1);
    h.llm.assertDone();
  });

  it('a retried event (same event_id, X-Slack-Retry-Num: 1) is acked and answered once; the retry posts no placeholder', async () => {
    h.llm.enqueue({ content: 'Only once.' });
    const env = mentionEvent(alice, 'say it once', bot);
    expect((await h.send.event(env)).status).toBe(200);
    expect(await h.logs.outcome(env.event_id)).toBe('queued');
    expect((await h.send.event(env, { retryNum: 1, retryReason: 'http_timeout' })).status).toBe(200);
    await h.logs.waitFor(
      (l) => l.msg === 'slack event done' && l.eventId === env.event_id && l.outcome === 'duplicate',
    );
    const { placeholder } = await h.answer((c) => c.body.thread_ts === env.event.ts);
    await h.logs.waitFor((l) => l.msg === 'slack reply posted' && l.ts === placeholder.response!.ts);
    expect(h.slack.callsOf('chat.postMessage', (c) => c.body.thread_ts === env.event.ts)).toHaveLength(1);
    expect(h.slack.callsOf('chat.update', (c) => c.body.ts === placeholder.response!.ts)).toHaveLength(1);
    expect(h.slack.callsOf('chat.delete')).toHaveLength(0);
    expect(h.slack.messages(alice.channel, env.event.ts).map((m) => m.text)).toEqual(['Only once.']);
    h.llm.assertDone();
  });

  it('the same event delivered again without retry headers is acknowledged and not handled again: one placeholder, one answer', async () => {
    h.llm.enqueue({ content: 'Still only once.' });
    const env = mentionEvent(alice, 'say it once more', bot);
    const from = h.slack.calls.length;
    expect((await h.send.event(env)).status).toBe(200);
    expect((await h.send.event(env)).status).toBe(200);
    await h.logs.waitFor(
      (l) => l.msg === 'slack event done' && l.eventId === env.event_id && l.outcome === 'duplicate',
    );
    await h.logs.waitFor((l) => l.msg === 'slack event done' && l.eventId === env.event_id && l.outcome === 'queued');
    const answered = await h.logs.waitFor((l) => l.msg === 'slack reply posted' && l.threadTs === env.event.ts);
    const placeholders = h.slack
      .callsOf('chat.postMessage', (c) => c.body.thread_ts === env.event.ts)
      .map((c) => c.response!.ts);
    expect(placeholders).toEqual([answered.ts]);
    expect(h.slack.calls.slice(from).filter((c) => c.method === 'chat.delete')).toEqual([]);
    expect(h.slack.messages(alice.channel, env.event.ts)).toEqual([
      expect.objectContaining({ ts: answered.ts, text: 'Still only once.' }),
    ]);
    h.llm.assertDone();
  });

  it('answers a direct message in the DM, not threaded, replacing its placeholder there', async () => {
    h.llm.enqueue({ content: 'All renders are fine.' });
    const dm = { ...alice, channel: 'D0ALICEDM1' };
    const env = dmEvent(dm, 'how are my renders doing?');
    const from = h.slack.calls.length;
    await h.send.event(env);
    const { placeholder, update } = await h.answer((c) => c.body.channel === dm.channel, { from });
    expect(placeholder.body.thread_ts).toBeUndefined();
    expect(update.body).toMatchObject({ channel: dm.channel, ts: placeholder.response!.ts });
    expect(String(update.body.text)).toContain('All renders are fine.');
    expect(h.slack.callsOf('chat.postMessage', (c) => c.body.channel === dm.channel)).toHaveLength(1);
    expect(
      await rows(h.em(), keyRow, `select key from chat_session where key = ?`, [`${TEAM.teamId}:dm:${alice.userId}`]),
    ).toHaveLength(1);
    h.llm.assertDone();
  });

  it('a DM thread (Slack’s AI app view) is its own session: the thread status shows while the answer streams into the thread', async () => {
    const long =
      'Three orders are rendering right now: SA-2026-00158, SA-2026-00159 and SA-2026-00160. ' +
      'The oldest started forty minutes ago and is nearly done; the newest has 12 of 40 renders finished so far.';
    h.llm.enqueue({ content: long, chunkDelayMs: 400 });
    const dm = { ...alice, channel: 'D0ALICEDM1' };
    const threadTs = newTs();
    const from = h.slack.calls.length;
    await h.send.event(dmEvent(dm, 'which orders are still rendering?', { threadTs }));
    const status = await h.slack.waitFor('assistant.threads.setStatus', (c) => c.body.thread_ts === threadTs, { from });
    expect(status.body).toMatchObject({ channel_id: dm.channel, status: WORKING_STATUS });
    const start = await h.slack.waitFor('chat.startStream', (c) => c.body.thread_ts === threadTs, { from });
    const final = await h.slack.waitFor('chat.update', (c) => c.body.ts === start.response!.ts, { from });
    expect(final.body.text).toBe(long);
    // No placeholder: the status stands in for it.
    expect(
      h.slack.callsOf('chat.postMessage', (c) => c.body.channel === dm.channel && c.body.thread_ts === threadTs),
    ).toEqual([]);
    expect(h.slack.messages(dm.channel, threadTs).map((m) => m.text)).toEqual([long]);
    expect(
      await rows(h.em(), keyRow, `select key from chat_session where key = ?`, [
        `${TEAM.teamId}:${dm.channel}:${threadTs}`,
      ]),
    ).toHaveLength(1);
    h.llm.assertDone();
    expect(h.slack.failures).toEqual([]);
  });

  it('ignores bot messages and the bot’s own messages', async () => {
    const requests = h.llm.requests.length;
    const fromBot = slackFixture('message_im_bot');
    await h.send.event(fromBot);
    const own = dmEvent({ ...alice, userId: TEAM.botUserId, channel: 'D0ALICEDM1' }, 'echo of my own message');
    await h.send.event(own);
    expect(await h.logs.outcome(fromBot.event_id)).toBe('ignored');
    expect(await h.logs.outcome(own.event_id)).toBe('ignored');
    expect(h.llm.requests.length).toBe(requests);
  });
});

describe('thread replies without a mention', () => {
  /** Mentions the bot to start a thread (answered), returning the thread ts. */
  async function startThread(who: Who, text: string, answer: string): Promise<string> {
    h.llm.enqueue({ content: answer });
    const env = mentionEvent(who, text, bot);
    await h.send.event(env);
    await h.answer((c) => c.body.thread_ts === env.event.ts && c.body.channel === who.channel);
    return env.event.ts as string;
  }

  it.each(['channel', 'group'] as const)(
    'continue the thread’s conversation (%s) and are answered in the thread',
    async (channelType) => {
      const who = { ...alice, channel: channelType === 'channel' ? 'C0RENDERS1' : 'G0PRIVATE1' };
      const threadTs = await startThread(
        who,
        'which Kugellager products do we have?',
        'There are 12 Kugellager products.',
      );
      h.llm.enqueue({ content: 'Two of them failed.' });
      const from = h.slack.calls.length;
      const reply = threadReplyEvent(who, 'and how many of them failed?', { threadTs, channelType });
      expect((await h.send.event(reply)).status).toBe(200);
      const { placeholder, update } = await h.answer((c) => c.body.thread_ts === threadTs, { from });
      expect(placeholder.body.channel).toBe(who.channel);
      expect(update.body.text).toContain('Two of them failed.');
      expect(await h.logs.outcome(reply.event_id)).toBe('queued');
      // Same session: the model saw the first question and answer before the new one.
      const msgs = h.llm.requests.at(-1)!.body.messages.map((m) => `${m.role}: ${String(m.content)}`);
      const first = msgs.indexOf('user: which Kugellager products do we have?');
      expect(first).toBeGreaterThanOrEqual(0);
      expect(msgs.indexOf('assistant: There are 12 Kugellager products.')).toBeGreaterThan(first);
      expect(msgs.at(-1)).toBe('user: and how many of them failed?');
      expect(
        await rows(h.em(), idRow, `select id from chat_session where key = ?`, [
          `${TEAM.teamId}:${who.channel}:${threadTs}`,
        ]),
      ).toHaveLength(1);
      h.llm.assertDone();
    },
  );

  it('after `new` in the thread, continue the fresh conversation: the model no longer sees the earlier messages', async () => {
    const threadTs = await startThread(
      alice,
      'which Kugellager products do we have?',
      'There are 12 Kugellager products.',
    );
    const from = h.slack.calls.length;
    await h.send.event(mentionEvent(alice, 'new', { ...bot, threadTs }));
    const started = await h.answer((c) => c.body.thread_ts === threadTs, { from });
    expect(started.update.body.text).toContain('Started a new conversation');
    h.llm.enqueue({ content: 'Which products do you mean?' });
    const from2 = h.slack.calls.length;
    const reply = threadReplyEvent(alice, 'how many of them failed?', { threadTs });
    await h.send.event(reply);
    const { update } = await h.answer((c) => c.body.thread_ts === threadTs, { from: from2 });
    expect(update.body.text).toBe('Which products do you mean?');
    expect(saidIn(h.llm.requests.at(-1)!)).toEqual(['how many of them failed?']);
    expect(await sessionsUnder(`${TEAM.teamId}:${alice.channel}:${threadTs}`)).toEqual({ n: 2, archived: 1 });
    h.llm.assertDone();
  });

  it("a viewer cannot `forget` or `new` a shared thread; everyone's history and pending confirmations stay (issue 12 item 5)", async () => {
    const { actionId, threadTs } = await proposeKugellagerOrder(alice);
    const key = `${TEAM.teamId}:${alice.channel}:${threadTs}`;
    const messagesUnder = () =>
      countOf(
        h.em(),
        `select count(*)::int as n from chat_message m join chat_session s on s.id = m.session_id where s.key = ?`,
        [key],
      );
    const before = await messagesUnder();
    for (const command of ['forget', 'new']) {
      const from = h.slack.calls.length;
      await h.send.event(mentionEvent(guest, command, { ...bot, threadTs }));
      const { update } = await h.answer((c) => c.body.thread_ts === threadTs, { from });
      expect(update.body.text).toContain(`only operators and admins can use \`${command}\` here`);
    }
    expect(await sessionsUnder(key)).toEqual({ n: 1, archived: 0 });
    expect(await messagesUnder()).toBeGreaterThanOrEqual(before);
    expect(await actionStatus(actionId)).toEqual([{ status: 'pending' }]);
  });

  it('in a direct message, its owner may `forget` even as a viewer', async () => {
    const dm: Who = { ...guest, channel: 'D0GUEST001' };
    h.llm.enqueue({ content: 'Hello guest.' });
    const first = h.slack.calls.length;
    await h.send.event(dmEvent(dm, 'hello'));
    expect(String((await h.answer((c) => c.body.channel === dm.channel, { from: first })).update.body.text)).toContain(
      'Hello guest.',
    );
    const from = h.slack.calls.length;
    await h.send.event(dmEvent(dm, 'forget'));
    const { update } = await h.answer((c) => c.body.channel === dm.channel, { from });
    expect(update.body.text).toContain('Forgot this conversation');
    expect(
      await countOf(h.em(), `select count(*)::int as n from chat_session where key = ?`, [
        `${TEAM.teamId}:dm:${guest.userId}`,
      ]),
    ).toBe(0);
  });

  it('in a thread the bot has no conversation in are ignored: nothing posted, queued or asked', async () => {
    const requests = h.llm.requests.length;
    const from = h.slack.calls.length;
    const threadTs = newTs();
    const reply = threadReplyEvent(alice, 'lunch at noon?', { threadTs });
    expect((await h.send.event(reply)).status).toBe(200);
    expect(await h.logs.outcome(reply.event_id)).toBe('no_session');
    expect(h.slack.calls.slice(from)).toEqual([]);
    expect(h.llm.requests.length).toBe(requests);
    // Stored before the acknowledgement like every message that may concern the bot; its copy is dropped once handled.
    expect(
      await rows(
        h.em(),
        z.object({ handled: z.boolean(), request: z.unknown() }),
        `select handled_at is not null as handled, request from inbound_event where event_id = ?`,
        [reply.event_id],
      ),
    ).toEqual([{ handled: true, request: null }]);
    expect(
      await rows(h.em(), idRow, `select id from chat_session where key = ?`, [
        `${TEAM.teamId}:${alice.channel}:${threadTs}`,
      ]),
    ).toEqual([]);
  });

  it('a reply that mentions the bot (message and app_mention events) is answered exactly once', async () => {
    const threadTs = await startThread(alice, 'what is a render job?', 'A render job renders one product image.');
    h.llm.enqueue({ content: 'Yes, you can re-dispatch it.' });
    const requests = h.llm.requests.length;
    const from = h.slack.calls.length;
    const ts = newTs();
    const text = `<@${TEAM.botUserId}> can I re-dispatch one?`;
    const asMessage = threadReplyEvent(alice, text, { threadTs, ts });
    const asMention = mentionEvent(alice, 'can I re-dispatch one?', { ...bot, threadTs, ts });
    expect((await h.send.event(asMessage)).status).toBe(200);
    expect((await h.send.event(asMention)).status).toBe(200);
    expect(await h.logs.outcome(asMessage.event_id)).toBe('mention');
    expect(await h.logs.outcome(asMention.event_id)).toBe('queued');
    const { placeholder } = await h.answer((c) => c.body.thread_ts === threadTs, { from });
    await h.logs.waitFor((l) => l.msg === 'slack reply posted' && l.ts === placeholder.response!.ts);
    expect(h.slack.calls.slice(from).filter((c) => c.method === 'chat.postMessage')).toHaveLength(1);
    expect(h.slack.calls.slice(from).filter((c) => c.method === 'chat.update')).toHaveLength(1);
    expect(h.llm.requests.length).toBe(requests + 1);
    expect(
      await rows(h.em(), z.object({ event_id: z.string() }), `select event_id from inbound_event where event_id = ?`, [
        asMessage.event_id,
      ]),
    ).toEqual([]);
    h.llm.assertDone();
  });
});

describe('the seed example through Slack', () => {
  it('mention → confirm card → Confirm → card updated in place, one order, follow-up in the thread; second click and replay change nothing', async () => {
    const { card, actionId, ts, threadTs, actions } = await proposeKugellagerOrder(alice);
    expect(card.body.ts).toBe(ts);
    expect(actions.elements).toEqual([
      expect.objectContaining({ action_id: 'renderbot.confirm', style: 'primary', value: actionId }),
      expect.objectContaining({ action_id: 'renderbot.cancel', style: 'danger', value: actionId }),
    ]);
    expect(shown(card)).toContain('WebP 1024x1024');
    expect((card.body.blocks as { type: string }[]).map((b) => b.type)).toContain('header');
    expect(await orderCount()).toBe(0);
    await h.logs.waitFor((l) => l.msg === 'slack reply posted' && l.ts === ts);

    h.llm.enqueue((req) => {
      const note = lastNote(req);
      return {
        content: `Done: order ${/SA-\d{4}-\d{5}/.exec(note)?.[0]} was created and its renders were dispatched.`,
      };
    });
    const click = h.send.sign.action(
      buttonClick(alice, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: ts,
        threadTs,
        responseUrl: h.slack.responseUrl(),
        blocks: card.body.blocks as unknown[],
      }),
    );
    const clicked = h.slack.calls.length;
    expect((await h.send.send(click)).status).toBe(200);
    const update = await h.slack.waitFor('chat.update', (c) => c.body.ts === ts, { from: clicked });
    expect(update.body.channel).toBe(alice.channel);
    expect(shown(update)).toContain('Confirmed by Alice Example');
    expect(shown(update)).not.toContain('renderbot.confirm');
    expect(await orderCount()).toBe(1);
    const [order] = await rows(
      h.em(),
      z.object({ order_number: z.string() }),
      `select order_number from render_order where tenant_id = ?`,
      [acme.tenant.id],
    );
    const followUp = await h.slack.waitFor(
      'chat.postMessage',
      (c) => c.body.thread_ts === threadTs && String(c.body.text).startsWith('Done:'),
    );
    expect(followUp.body.text).toContain(order!.order_number);
    // The confirmed results reach the follow-up as a data message, not a system message; the confirmer's display name (text from Slack) is in neither (issue 12 item 6).
    const [system, note] = [systemText(h.llm.requests.at(-1)!), lastNote(h.llm.requests.at(-1)!)];
    expect(note).toContain(order!.order_number);
    expect(system).not.toContain(order!.order_number);
    expect(`${system}\n${note}`).not.toContain('Alice Example');

    // A second click (another person) and a replay of the identical signed request change nothing.
    const from = h.slack.calls.length;
    await h.send.action(
      buttonClick(alice, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: ts,
        threadTs,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    const second = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === alice.userId, { from });
    expect(String(second.body.text)).toMatch(/already confirmed.*will not run again/);
    expect(second.body.thread_ts).toBe(threadTs);
    // The identical request again is known by its trigger id (stored before its first acknowledgement):
    // acknowledged, and handed to no listener.
    const from2 = h.slack.calls.length;
    const replayed = await h.send.send(click);
    expect(replayed.status).toBe(200);
    expect(await replayed.text()).toBe('');
    expect(h.slack.calls.slice(from2)).toEqual([]);
    expect(h.slack.calls.slice(clicked).filter((c) => c.method === 'chat.update' && c.body.ts === ts)).toHaveLength(1);
    expect(await orderCount()).toBe(1);
    h.llm.assertDone();
    expect(h.slack.failures).toEqual([]);
  });

  it('a Slack Connect user from another organisation is a viewer: cannot confirm (issue 12 item 6)', async () => {
    const outsider: Who = { teamId: TEAM.teamId, userId: 'U0OUTSIDE1', channel: 'C0RENDERS1' };
    h.slack.addUser({
      id: outsider.userId,
      teamId: 'T0OTHERORG',
      name: 'outsider',
      real_name: 'Olga Outside',
      connect: true,
    });
    const { actionId, ts, threadTs } = await proposeKugellagerOrder(alice);
    const from = h.slack.calls.length;
    await h.send.action(
      buttonClick(outsider, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: ts,
        threadTs,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    const refusal = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === outsider.userId, { from });
    expect(String(refusal.body.text)).toContain('Only operators and admins can confirm');
    expect(await actionStatus(actionId)).toEqual([{ status: 'pending' }]);
    expect(await roleOfUser(outsider.userId)).toEqual([{ role: 'viewer' }]);
    await h.send.action(
      buttonClick(alice, {
        actionId: 'renderbot.cancel',
        value: actionId,
        messageTs: ts,
        threadTs,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    await h.slack.waitFor('chat.update', (c) => c.body.ts === ts, { from });
  });

  it('a guest cannot confirm; an operator can cancel', async () => {
    const before = await orderCount();
    const { actionId, ts, threadTs } = await proposeKugellagerOrder(alice);
    const from = h.slack.calls.length;
    await h.send.action(
      buttonClick(guest, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: ts,
        threadTs,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    const refusal = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === guest.userId, { from });
    expect(String(refusal.body.text)).toContain('Only operators and admins can confirm');
    expect(h.slack.calls.slice(from).filter((c) => c.method === 'chat.update' && c.body.ts === ts)).toHaveLength(0);
    expect(await actionStatus(actionId)).toEqual([{ status: 'pending' }]);
    expect(await roleOfUser(guest.userId)).toEqual([{ role: 'viewer' }]);

    const cancelled = h.slack.calls.length;
    await h.send.action(
      buttonClick(alice, {
        actionId: 'renderbot.cancel',
        value: actionId,
        messageTs: ts,
        threadTs,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    const update = await h.slack.waitFor('chat.update', (c) => c.body.ts === ts, { from: cancelled });
    expect(shown(update)).toContain('Cancelled by Alice Example');
    expect(await orderCount()).toBe(before);
    h.llm.assertDone();
  });

  it('a typed confirm in the thread: the decision replaces the new placeholder, the follow-up is posted after it', async () => {
    const { actionId, threadTs } = await proposeKugellagerOrder(alice);
    const before = await orderCount();
    h.llm.enqueue({ content: 'Done: the Kugellager renders are on their way.' });
    const from = h.slack.calls.length;
    await h.send.event(mentionEvent(alice, 'confirm', { ...bot, threadTs }));
    const { placeholder, update } = await h.answer((c) => c.body.thread_ts === threadTs, { from });
    expect(shown(update)).toContain('Confirmed by');
    const followUp = await h.slack.waitFor(
      'chat.postMessage',
      (c) => c.body.thread_ts === threadTs && String(c.body.text).startsWith('Done:'),
      { from },
    );
    expect(followUp.response!.ts).not.toBe(placeholder.response!.ts);
    // (The order's completion notice may follow in the thread once its renders finish.)
    const turnPosts = h.slack.calls
      .slice(from)
      .filter((c) => c.method === 'chat.postMessage' && !/^(✅|⚠️)/.test(String(c.body.text)));
    expect(turnPosts.map((c) => c.body.text)).toEqual(['_Working on it…_', followUp.body.text]);
    expect(await actionStatus(actionId)).toEqual([{ status: 'done' }]);
    expect(await orderCount()).toBe(before + 1);
    h.llm.assertDone();
  });
});

describe('messages that arrive while a turn runs (docs/design.md §4)', () => {
  it('are answered together in the next turn, where the last was asked; the earlier placeholder is removed', async () => {
    let turnRunning!: () => void;
    const running = new Promise<void>((resolve) => {
      turnRunning = resolve;
    });
    let merged: unknown;
    h.llm.enqueue(
      () => {
        turnRunning();
        return { content: 'Three orders are rendering.', delayMs: 600 };
      },
      (req) => {
        merged = req.body.messages.filter((m) => m.role === 'user').at(-1)?.content;
        return { content: 'SA-2026-00160 first, then the others.' };
      },
    );
    const first = mentionEvent(alice, 'which orders are rendering?', bot);
    const threadTs = first.event.ts as string;
    await h.send.event(first);
    await running;
    const from = h.slack.calls.length;
    // Slack delivers events as separate requests in no guaranteed order; the second is sent once the first was taken (its placeholder is up).
    const calls = () =>
      h.slack
        .callsOf('chat.postMessage', (c) => c.body.thread_ts === threadTs && c.body.text === PLACEHOLDER_TEXT)
        .slice(1);
    const placeholders: string[] = [];
    for (const [i, text] of ['and which one finishes first?', 'please sort them by deadline'].entries()) {
      await h.send.event(mentionEvent(alice, text, { ...bot, threadTs }));
      await h.slack.waitFor(
        'chat.postMessage',
        (c) => c.body.thread_ts === threadTs && c.body.text === PLACEHOLDER_TEXT && calls().length > i,
        { from },
      );
      placeholders.push(calls()[i]!.response!.ts as string);
    }
    const answer = await h.slack.waitFor('chat.update', (c) => c.body.ts === placeholders[1], { from });
    expect(answer.body.text).toBe('SA-2026-00160 first, then the others.');
    expect(merged).toBe('and which one finishes first?\n\nplease sort them by deadline');
    expect(h.slack.callsOf('chat.delete', (c) => c.body.ts === placeholders[0])).toHaveLength(1);
    expect(h.slack.messages(alice.channel, threadTs).map((m) => m.text)).toEqual([
      'Three orders are rendering.',
      'SA-2026-00160 first, then the others.',
    ]);
    h.llm.assertDone();
  });
});

describe('streaming replies', () => {
  const long =
    'Kugellager are ball bearings. Your catalogue has three of them: the 6204, the 6205 and the 6206 2RS. ' +
    'All three are made of bare steel and were last rendered as WebP at 1024x1024 for the spring catalogue.';
  const streamCalls = (from: number) =>
    h.slack.calls.slice(from).filter((c) => c.method.startsWith('chat.') && c.method.endsWith('Stream'));

  it('in a thread: Slack message streaming in order, the placeholder removed, the final reply replaces the streamed message', async () => {
    h.llm.enqueue({ content: long, chunkDelayMs: 400 });
    const env = mentionEvent(alice, 'tell me about our Kugellager', bot);
    const from = h.slack.calls.length;
    expect((await h.send.event(env)).status).toBe(200);
    const placeholder = await h.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === env.event.ts, { from });
    const start = await h.slack.waitFor('chat.startStream', (c) => c.body.thread_ts === env.event.ts, { from });
    expect(start.body).toMatchObject({
      channel: alice.channel,
      recipient_team_id: TEAM.teamId,
      recipient_user_id: alice.userId,
    });
    const streamTs = start.response!.ts;
    const final = await h.slack.waitFor('chat.update', (c) => c.body.ts === streamTs, { from });
    const calls = streamCalls(from);
    expect(calls.map((c) => c.method)).toEqual([
      'chat.startStream',
      ...calls.slice(1, -1).map(() => 'chat.appendStream'),
      'chat.stopStream',
    ]);
    expect(calls.map(streamedText).join('')).toBe(long);
    expect(final.body.text).toBe(long);
    expect(h.slack.callsOf('chat.delete', (c) => c.body.ts === placeholder.response!.ts)).toHaveLength(1);
    expect(h.slack.messages(alice.channel, env.event.ts).map((m) => m.text)).toEqual([long]);
    h.llm.assertDone();
    expect(h.slack.failures).toEqual([]);
  });

  it('streamed text is escaped like the final reply: the model cannot stream <!channel>, mentions or disguised links (issue 12 item 6)', async () => {
    const hostile = `${long} <!channel> ping <@U0BOSS0001> and <https://evil.example/login|the results> & more.`;
    h.llm.enqueue({ content: hostile, chunkDelayMs: 300 });
    const env = mentionEvent(alice, 'summarise, please', bot);
    const from = h.slack.calls.length;
    await h.send.event(env);
    const start = await h.slack.waitFor('chat.startStream', (c) => c.body.thread_ts === env.event.ts, { from });
    await h.slack.waitFor('chat.update', (c) => c.body.ts === start.response!.ts, { from });
    const streamed = streamCalls(from).map(streamedText).join('');
    expect(streamed).toBe(escapeMrkdwn(hostile));
    expect(streamed).not.toMatch(/<!channel>|<@U|<https:/);
    h.llm.assertDone();
  });

  it('without Slack streaming: the placeholder is edited as the text grows, then becomes the final reply; short answers are not streamed', async () => {
    h.slack.setStreaming(false);
    try {
      h.llm.enqueue({ content: long, chunkDelayMs: 400 });
      const env = mentionEvent(alice, 'and once more, please', bot);
      const from = h.slack.calls.length;
      await h.send.event(env);
      const { placeholder } = await h.answer((c) => c.body.thread_ts === env.event.ts, { from });
      const ts = placeholder.response!.ts;
      await h.logs.waitFor((l) => l.msg === 'slack reply posted' && l.ts === ts);
      const edits = h.slack.callsOf('chat.update', (c) => c.body.ts === ts).map((c) => String(c.body.text));
      expect(edits.length).toBeGreaterThanOrEqual(2);
      expect(edits.at(-1)).toBe(long);
      for (const [i, partial] of edits.slice(0, -1).entries()) {
        expect(partial.endsWith(' …')).toBe(true);
        const text = partial.slice(0, -2);
        expect(long.startsWith(text)).toBe(true);
        if (i > 0) expect(text.length).toBeGreaterThan(edits[i - 1]!.length - 2);
      }
      expect(streamCalls(from).map((c) => c.response?.error)).toEqual(['feature_not_enabled']);

      h.llm.enqueue({ content: 'Short answer.' });
      const short = mentionEvent(alice, 'short one', bot);
      const from2 = h.slack.calls.length;
      await h.send.event(short);
      const answered = await h.answer((c) => c.body.thread_ts === short.event.ts, { from: from2 });
      expect(answered.update.body.text).toBe('Short answer.');
      expect(h.slack.calls.slice(from2).filter((c) => c.method === 'chat.update')).toHaveLength(1);
      expect(streamCalls(from2)).toEqual([]);
    } finally {
      h.slack.setStreaming(true);
    }
  });
});

describe('App Home', () => {
  it('publishes a view with the tenant name and this month’s usage', async () => {
    const env = homeOpened(alice);
    await h.send.event(env);
    const publish = await h.slack.waitFor('views.publish', (c) => c.body.user_id === alice.userId);
    const view = publish.body.view as { type: string; blocks: unknown[] };
    expect(view.type).toBe('home');
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('Tenant acme');
    expect(text).toMatch(/Tokens this month \(\d{4}-\d{2}\)\*\\n[1-9][\d,]*/);
    expect(text).toContain('Model calls');
    expect(publish.token).toBe(TEAM.token);
  });
});

describe('roles follow what Slack says about a person', () => {
  it('a member who became a guest is a viewer once Slack is asked again: no confirm of a cancel_order, by button or typed; a role an admin set is kept', async () => {
    const fritz: Who = { teamId: TEAM.teamId, userId: 'U0FRITZ001', channel: 'C0RENDERS1' };
    const kim: Who = { teamId: TEAM.teamId, userId: 'U0KIM00001', channel: 'C0RENDERS1' };
    h.slack.addUser({ id: fritz.userId, teamId: TEAM.teamId, name: 'fritz', real_name: 'Fritz Member' });
    h.slack.addUser({ id: kim.userId, teamId: TEAM.teamId, name: 'kim', real_name: 'Kim Contractor' });
    await setUserRole(h.em(), acme.tenant.id, 'slack', kim.userId, 'operator');
    const draft = await createOrder(h.em(), acme.tenant.id, {
      products: { refs: ['ACME-KL-6204'] },
      outputTypeName: 'WebP 1024x1024',
      submit: false,
      createdBy: 'seed',
      now: new Date(),
    });
    const roleOf = async (who: Who) =>
      rows(
        h.em(),
        userRole,
        `select role, role_source from tenant_user where tenant_id = ? and platform = 'slack' and external_user_id = ?`,
        [acme.tenant.id, who.userId],
      );

    // Fritz, a member, asks to cancel the draft: an operator by default.
    h.llm.enqueue({ toolCalls: [{ name: 'cancel_order', arguments: { order_id: draft.orderNumber } }] });
    const ask = mentionEvent(fritz, `please drop order ${draft.orderNumber}`, bot);
    await h.send.event(ask);
    const { placeholder, update: card } = await h.answer((c) => c.body.thread_ts === ask.event.ts);
    expect(shown(card)).toContain(`Cancel ${draft.orderNumber}`);
    const buttons = (card.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find(
      (b) => b.type === 'actions',
    )!;
    const actionId = buttons.elements!.find((e) => e.action_id === 'renderbot.confirm')!.value;
    const ts = String(placeholder.response!.ts);
    const threadTs = String(ask.event.ts);
    expect(await roleOf(fritz)).toEqual([{ role: 'operator', role_source: 'default' }]);

    // Both become guests in Slack; the bot learns it once its answer about them is out of date.
    h.slack.addUser({
      id: fritz.userId,
      teamId: TEAM.teamId,
      name: 'fritz',
      real_name: 'Fritz Member',
      is_restricted: true,
    });
    h.slack.addUser({
      id: kim.userId,
      teamId: TEAM.teamId,
      name: 'kim',
      real_name: 'Kim Contractor',
      is_ultra_restricted: true,
    });
    skew += PERSON_FACTS_TTL_MS;

    const from = h.slack.calls.length;
    await h.send.action(
      buttonClick(fritz, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: ts,
        threadTs,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    const refusal = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === fritz.userId, { from });
    expect(String(refusal.body.text)).toContain('Only operators and admins can confirm');
    expect(await roleOf(fritz)).toEqual([{ role: 'viewer', role_source: 'default' }]);

    const typed = h.slack.calls.length;
    await h.send.event(mentionEvent(fritz, 'confirm', { ...bot, threadTs }));
    const { update: answer } = await h.answer((c) => c.body.thread_ts === threadTs, { from: typed });
    expect(shown(answer)).toContain('Only operators and admins can confirm');
    expect(await actionStatus(actionId)).toEqual([{ status: 'pending' }]);

    // Kim's operator role was an admin's decision: kept although Slack calls her a guest.
    const kept = h.slack.calls.length;
    await h.send.action(
      buttonClick(kim, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: ts,
        threadTs,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    const decided = await h.slack.waitFor('chat.update', (c) => c.body.ts === ts, { from: kept });
    expect(shown(decided)).toContain('Confirmed by Kim Contractor');
    expect(await roleOf(kim)).toEqual([{ role: 'operator', role_source: 'admin' }]);
    expect(await rows(h.em(), statusRow, `select status from render_order where id = ?`, [draft.orderId])).toEqual([
      { status: 'cancelled' },
    ]);
  });
});
