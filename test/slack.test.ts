import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { buttonClick, dmEvent, homeOpened, mentionEvent, slackFixture, slashCommand, type Who } from './fakes/slack-request.ts';
import type { SlackCall } from './fakes/slack-api.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';

let h: SlackHarness;
let acme: TenantFixture;
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };
const guest: Who = { teamId: TEAM.teamId, userId: 'U0GUEST001', channel: 'C0RENDERS1' };
const bot = { botUserId: TEAM.botUserId };

beforeAll(async () => {
  h = await startSlackHarness();
  h.slack.addTeam(TEAM);
  h.slack.addUser({ id: alice.userId, teamId: TEAM.teamId, name: 'alice', real_name: 'Alice Example' });
  h.slack.addUser({ id: guest.userId, teamId: TEAM.teamId, name: 'gast', is_restricted: true });
  acme = await makeTenant(h.em(), 'acme');
  await h.link(acme.tenant.id, TEAM.teamId);
});
afterAll(async () => {
  await h?.close();
});

/** All text a Slack call carries (text + blocks), for loose assertions. */
const shown = (c: SlackCall) => JSON.stringify({ text: c.body.text, blocks: c.body.blocks });
const orderCount = async () => ((await h.em().execute(`select count(*)::int as n from render_order where tenant_id = ?`, [acme.tenant.id])) as { n: number }[])[0]!.n;
const isCard = (c: SlackCall) => JSON.stringify(c.body.blocks ?? []).includes('"renderbot.confirm"');

/** The JSON the agent sent back for the latest tool call named `name`. */
function toolResult(req: FakeLlmRequest, name: string): unknown {
  const msgs = req.body.messages;
  const call = [...msgs].reverse().flatMap((m) => (m.tool_calls as { id: string; function: { name: string } }[] | undefined) ?? []).find((c) => c.function.name === name);
  return JSON.parse(String(msgs.find((m) => m.role === 'tool' && m.tool_call_id === call?.id)?.content));
}

/** Scripts the model to propose rendering the Kugellager (search, then one create_order) and mentions the bot; returns the posted card. */
async function proposeKugellagerOrder(who: Who) {
  h.llm.enqueue(
    { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 200 } }] },
    (req) => {
      const found = toolResult(req, 'search_products') as { products: { id: string }[] };
      return { toolCalls: [{ name: 'create_order', arguments: { product_ids: found.products.map((p) => p.id), output_type_name: 'WebP 1024x1024', submit: true, material_override: null, render_overrides: null } }] };
    },
  );
  const env = mentionEvent(who, 'Render all Kugellager products as WebP at 1024x1024', bot);
  expect((await h.send.event(env)).status).toBe(200);
  const card = await h.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === env.event.ts && isCard(c));
  const actions = (card.body.blocks as { type: string; elements?: { action_id: string; value: string; style?: string }[] }[]).find((b) => b.type === 'actions')!;
  const actionId = actions.elements!.find((e) => e.action_id === 'renderbot.confirm')!.value;
  return { env, card, actionId, ts: String(card.response!.ts), threadTs: env.event.ts as string, actions };
}

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
    const stale = await h.send.event(mentionEvent(alice, 'hello', bot), { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 });
    expect(stale.status).toBe(401);
    const unsignedCommand = await fetch(`${h.base}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'command=%2Frender&text=help' });
    expect(unsignedCommand.status).toBe(401);
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
    const root = await h.slack.waitFor('chat.postMessage', (c) => String(c.body.text).includes('asked: what are Kugellager?'));
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
  it('queues free text; the model answer is posted in the thread with the team token', async () => {
    h.llm.enqueue({ content: 'Hello from the model.' });
    const env = mentionEvent(alice, 'what can you do?', bot);
    const res = await h.send.event(env);
    expect(res.status).toBe(200);
    const post = await h.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === env.event.ts);
    expect(post.token).toBe(TEAM.token);
    expect(post.body.channel).toBe(alice.channel);
    expect(post.body.text).toContain('Hello from the model.');
    const lastUser = h.llm.requests.at(-1)!.body.messages.filter((m) => m.role === 'user').at(-1);
    expect(lastUser?.content).toBe('what can you do?');
    const session = await h.em().execute(`select key from chat_session where platform = 'slack' and key = ?`, [`${TEAM.teamId}:${alice.channel}:${env.event.ts}`]);
    expect(session).toHaveLength(1);
    h.llm.assertDone();
  });

  it('a retried event (same event_id, X-Slack-Retry-Num: 1) is acked and answered once', async () => {
    h.llm.enqueue({ content: 'Only once.' });
    const env = mentionEvent(alice, 'say it once', bot);
    expect((await h.send.event(env)).status).toBe(200);
    expect((await h.send.event(env, { retryNum: 1, retryReason: 'http_timeout' })).status).toBe(200);
    await h.logs.waitFor((l) => l.msg === 'slack event done' && l.eventId === env.event_id && l.outcome === 'duplicate');
    await h.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === env.event.ts);
    expect(h.slack.callsOf('chat.postMessage', (c) => c.body.thread_ts === env.event.ts)).toHaveLength(1);
    h.llm.assertDone();
  });

  it('answers a direct message in the DM, not threaded', async () => {
    h.llm.enqueue({ content: 'All renders are fine.' });
    const dm = { ...alice, channel: 'D0ALICEDM1' };
    const env = dmEvent(dm, 'how are my renders doing?');
    await h.send.event(env);
    const post = await h.slack.waitFor('chat.postMessage', (c) => c.body.channel === dm.channel && String(c.body.text).includes('All renders are fine.'));
    expect(post.body.thread_ts).toBeUndefined();
    expect(await h.em().execute(`select key from chat_session where key = ?`, [`${TEAM.teamId}:dm:${alice.userId}`])).toHaveLength(1);
    h.llm.assertDone();
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

describe('the seed example through Slack', () => {
  it('mention → confirm card → Confirm → card updated in place, one order, follow-up in the thread; second click and replay change nothing', async () => {
    const { card, actionId, ts, threadTs, actions } = await proposeKugellagerOrder(alice);
    expect(actions.elements).toEqual([
      expect.objectContaining({ action_id: 'renderbot.confirm', style: 'primary', value: actionId }),
      expect.objectContaining({ action_id: 'renderbot.cancel', style: 'danger', value: actionId }),
    ]);
    expect(shown(card)).toContain('WebP 1024x1024');
    expect((card.body.blocks as { type: string }[]).map((b) => b.type)).toContain('header');
    expect(await orderCount()).toBe(0);
    await h.logs.waitFor((l) => l.msg === 'slack reply posted' && l.ts === ts);
    const [ref] = (await h.em().execute(`select message_ref from pending_action where id = ?`, [actionId])) as { message_ref: Record<string, unknown> }[];
    expect(ref!.message_ref).toMatchObject({ channel: alice.channel, ts, threadTs });

    h.llm.enqueue((req) => {
      const note = String(req.body.messages.filter((m) => m.role === 'system').at(-1)?.content);
      return { content: `Done: order ${/SA-\d{4}-\d{5}/.exec(note)?.[0]} was created and its renders were dispatched.` };
    });
    const click = h.send.sign.action(buttonClick(alice, { actionId: 'renderbot.confirm', value: actionId, messageTs: ts, threadTs, responseUrl: h.slack.responseUrl(), blocks: card.body.blocks as unknown[] }));
    expect((await h.send.send(click)).status).toBe(200);
    const update = await h.slack.waitFor('chat.update', (c) => c.body.ts === ts);
    expect(update.body.channel).toBe(alice.channel);
    expect(shown(update)).toContain('Confirmed by Alice Example');
    expect(shown(update)).not.toContain('renderbot.confirm');
    expect(await orderCount()).toBe(1);
    const [order] = (await h.em().execute(`select order_number from render_order where tenant_id = ?`, [acme.tenant.id])) as { order_number: string }[];
    const followUp = await h.slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === threadTs && String(c.body.text).startsWith('Done:'));
    expect(followUp.body.text).toContain(order!.order_number);

    // A second click (another person) and a replay of the identical signed request change nothing.
    const from = h.slack.calls.length;
    await h.send.action(buttonClick(alice, { actionId: 'renderbot.confirm', value: actionId, messageTs: ts, threadTs, responseUrl: h.slack.responseUrl() }));
    const second = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === alice.userId, { from });
    expect(String(second.body.text)).toMatch(/already confirmed.*will not run again/);
    expect(second.body.thread_ts).toBe(threadTs);
    const from2 = h.slack.calls.length;
    await h.send.send(click);
    await h.slack.waitFor('chat.postEphemeral', (c) => String(c.body.text).includes('already confirmed'), { from: from2 });
    expect(h.slack.callsOf('chat.update').filter((c) => c.body.ts === ts)).toHaveLength(1);
    expect(await orderCount()).toBe(1);
    h.llm.assertDone();
    expect(h.slack.failures).toEqual([]);
  });

  it('a guest cannot confirm; an operator can cancel', async () => {
    const before = await orderCount();
    const { actionId, ts, threadTs } = await proposeKugellagerOrder(alice);
    const from = h.slack.calls.length;
    await h.send.action(buttonClick(guest, { actionId: 'renderbot.confirm', value: actionId, messageTs: ts, threadTs, responseUrl: h.slack.responseUrl() }));
    const refusal = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === guest.userId, { from });
    expect(String(refusal.body.text)).toContain('Only operators and admins can confirm');
    expect(h.slack.callsOf('chat.update').filter((c) => c.body.ts === ts)).toHaveLength(0);
    expect(await h.em().execute(`select status from pending_action where id = ?`, [actionId])).toEqual([{ status: 'pending' }]);
    expect(await h.em().execute(`select role from tenant_user where external_user_id = ?`, [guest.userId])).toEqual([{ role: 'viewer' }]);

    await h.send.action(buttonClick(alice, { actionId: 'renderbot.cancel', value: actionId, messageTs: ts, threadTs, responseUrl: h.slack.responseUrl() }));
    const update = await h.slack.waitFor('chat.update', (c) => c.body.ts === ts);
    expect(shown(update)).toContain('Cancelled by Alice Example');
    expect(await orderCount()).toBe(before);
    h.llm.assertDone();
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
