import { createSign, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type App } from '../bot/app.ts';
import { startHttpServer } from '../bot/server.ts';
import { createTeamsChannel } from '../bot/teams.ts';
import { createChannels } from '../bot/channels.ts';
import { isLoopbackAddress, isLoopbackUrl } from '../adapters/teams/http.ts';
import { createTeamsAdapter } from '../adapters/teams/adapter.ts';
import { teamsSettings } from '../adapters/teams/config.ts';
import { ConfigError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { PERSON_FACTS_TTL_MS } from '../core/conversations/identify.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { createLinkCode, linkWorkspace } from '../core/tenancy/links.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { setUserRole } from '../core/tenancy/users.ts';
import { startFakeConnector, type ConnectorCall, type FakeConnector } from './fakes/bot-connector.ts';
import { startFakeLlm, type FakeLlm } from './fakes/llm-server.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase, testConfig } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { z } from 'zod';
import { countOf, rows } from './support/rows.ts';

const AAD = '9f8e7d6c-5b4a-4392-8170-6e5d4c3b2a19';
/** A person's role in a tenant and where it came from. */
const userRole = z.object({ role: z.string(), role_source: z.string() });
const fixture = (name: string) =>
  JSON.parse(readFileSync(`test/fixtures/teams/${name}.json`, 'utf8')) as Record<string, unknown> & {
    conversation: Record<string, unknown>;
    from: Record<string, unknown>;
    channelData: Record<string, unknown>;
  };

let db: TestDatabase;
let app: App;
let llm: FakeLlm;
let connector: FakeConnector;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;
let acme: TenantFixture;
let seq = 0;
/** How far the bot's clock runs ahead of the real one (cache lifetimes pass without sleeping). */
let skew = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  llm = await startFakeLlm({ provider: 'azure' });
  connector = await startFakeConnector();
  const config = testConfig(db, { TEAMS_EMULATOR: '1' });
  app = await createApp(config, silentLog, { worker: true, now: () => new Date(Date.now() + skew) });
  const channel = (await createTeamsChannel(app))!;
  app.deliverers.set('teams', channel.deliverer);
  app.streamers.set('teams', channel.streamer!);
  await app.start();
  http = await startHttpServer(app, 0, channel.routes);
  base = `http://127.0.0.1:${http.port}`;
  const em = app.db.orm.em.fork();
  acme = await makeTenant(em, 'acme');
  await linkWorkspace(em, acme.tenant.id, 'teams', AAD);
  await setTenantAi(em, config.secretsKey, acme.tenant.id, llm.settings, llm.apiKey);
});
afterAll(async () => {
  await http?.close();
  await app?.close();
  await connector?.close();
  await llm?.close();
  await db?.drop();
});

type Overrides = {
  text?: string;
  id?: string;
  aad?: string;
  conversationId?: string;
  from?: Record<string, unknown>;
  value?: unknown;
  replyToId?: string;
};

/** A fixture activity pointed at the fake connector, with a fresh id unless given. */
function activity(name: string, o: Overrides = {}) {
  const a = fixture(name);
  a.serviceUrl = connector.url;
  a.id = o.id ?? `17641${String(++seq).padStart(8, '0')}`;
  if (o.text !== undefined) a.text = o.text;
  if (o.aad) {
    a.conversation.tenantId = o.aad;
    a.channelData.tenant = { id: o.aad };
  }
  if (o.conversationId) a.conversation.id = o.conversationId;
  if (o.from) a.from = { ...a.from, ...o.from };
  if (o.value !== undefined) a.value = o.value;
  if (o.replyToId) a.replyToId = o.replyToId;
  return a;
}

async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const inConversation = (id: string) => (c: ConnectorCall) =>
  c.conversationId === id && (c.kind === 'send' || c.kind === 'reply') && c.activity.type === 'message';
const cardOf = (c: ConnectorCall) =>
  (c.activity.attachments as { contentType: string; content: Record<string, unknown> }[] | undefined)?.[0]?.content;
const contentOf = (c: ConnectorCall) => JSON.stringify(c.activity);
const count = async (sql: string, params: unknown[] = []) => countOf(app.db.orm.em.fork(), sql, params);
const newThread = () =>
  `19:c0ffee42a1b2c3d4e5f6a7b8c9d0e1f2@thread.tacv2;messageid=17641${String(++seq).padStart(8, '0')}`;

describe('Teams adapter (Emulator mode, full stack)', () => {
  it('welcomes when added to a team (conversationUpdate)', async () => {
    const a = activity('conversation-update-bot-added');
    expect((await post(a)).status).toBe(200);
    const [welcome] = await connector.waitFor(1, inConversation(a.conversation.id as string));
    expect(welcome!.activity.text).toMatch(/I am \*\*RenderBot\*\*/);
    expect(welcome!.activity.text).not.toMatch(/not linked/);
  });

  it('an unlinked AAD tenant gets instructions and no LLM call; nothing is queued', async () => {
    const other = '11111111-2222-4333-8444-555555555555';
    const requestsBefore = llm.requests.length;
    const a = activity('channel-mention', { aad: other, conversationId: newThread() });
    expect((await post(a)).status).toBe(200);
    const [reply] = await connector.waitFor(1, inConversation(a.conversation.id as string));
    expect(reply!.kind).toBe('reply');
    expect(reply!.activity.text).toContain(`renderbot admin link teams --tenant <slug> --aad-tenant ${other}`);
    expect(reply!.activity.text).toContain('renderbot admin link code --tenant <slug>');
    expect(llm.requests.length).toBe(requestsBefore);
    expect(await count(`select count(*)::int as n from inbound_event where event_id like ?`, [`${other}:%`])).toBe(0);
  });

  it('a guest cannot link an organisation with a code (the same rule as Slack); the code stays usable', async () => {
    const aad = '33333333-4444-4555-8666-777777777777';
    const em = app.db.orm.em.fork();
    const initech = await createTenant(em, { slug: 'initech', name: 'Initech' });
    const { code } = await createLinkCode(em, initech.id, new Date());
    const conv = newThread();
    const gast = { id: '29:guest-linker', name: 'Gast', aadObjectId: 'b1b2c3d4-0000-4000-8000-0000000000c1' };
    connector.setMemberRole(gast.id, 'guest');
    await post(
      activity('channel-mention', { aad, conversationId: conv, from: gast, text: `<at>RenderBot</at> link ${code}` }),
    );
    const [refused] = await connector.waitFor(1, inConversation(conv));
    expect(refused!.activity.text).toMatch(/Guests cannot link/);
    expect(
      await count(`select count(*)::int as n from platform_link where platform = 'teams' and external_id = ?`, [aad]),
    ).toBe(0);
    expect(
      await count(`select count(*)::int as n from link_code where tenant_id = ? and used_at is null`, [initech.id]),
    ).toBe(1);
  });

  it('`@RenderBot link CODE` links the organisation; commands work afterwards', async () => {
    const aad = '22222222-3333-4444-8555-666666666666';
    const em = app.db.orm.em.fork();
    const globex = await createTenant(em, { slug: 'globex', name: 'Globex' });
    const { code } = await createLinkCode(em, globex.id, new Date());
    const conv = newThread();
    await post(activity('channel-mention', { aad, conversationId: conv, text: `<at>RenderBot</at> link ${code}` }));
    const [linked] = await connector.waitFor(1, inConversation(conv));
    expect(linked!.activity.text).toMatch(/Linked: .*Globex/);
    expect(
      await count(
        `select count(*)::int as n from platform_link where platform = 'teams' and external_id = ? and tenant_id = ?`,
        [aad, globex.id],
      ),
    ).toBe(1);
    await post(activity('channel-mention', { aad, conversationId: conv, text: '<at>RenderBot</at> help' }));
    const replies = await connector.waitFor(2, inConversation(conv));
    expect(replies[1]!.activityId).not.toBe(replies[0]!.activityId); // proactive, not an in-turn reply
    expect(contentOf(replies[1]!)).toMatch(/orders/);
  });

  it('removes the mention, keys the session by thread, and runs a redelivered activity once', async () => {
    const conv = newThread();
    const first = activity('channel-mention', { conversationId: conv, text: '<at>RenderBot</at> help' });
    expect((await post(first)).status).toBe(200);
    expect((await post(first)).status).toBe(200); // Teams redelivers the same activity id
    await post(activity('channel-mention', { conversationId: conv, text: '<at>RenderBot</at>&nbsp;stats' }));
    const replies = await connector.waitFor(2, inConversation(conv));
    // Both turns of the thread ran in one session, in order; the redelivery never produced a third.
    const typing = connector.calls.filter((c) => c.conversationId === conv && c.activity.type === 'typing');
    expect(typing).toHaveLength(2);
    expect(connector.calls.filter(inConversation(conv))).toHaveLength(2);
    expect(replies.map((r) => r.activityId)).not.toContain(first.id);
    const sessions = await rows(
      app.db.orm.em.fork(),
      z.object({ id: z.string() }),
      `select id, key from chat_session where tenant_id = ? and key = ?`,
      [acme.tenant.id, `${AAD}:${conv}`],
    );
    expect(sessions).toHaveLength(1);
    expect(
      await count(`select count(*)::int as n from inbound_event where platform = 'teams' and event_id like ?`, [
        `${AAD}:${conv}:%`,
      ]),
    ).toBe(2);
  });

  it('seed example: mention → confirm card → Action.Execute → order, follow-up; second click changes nothing', async () => {
    const conv = newThread();
    const kugellager = Object.entries(acme.productIds)
      .filter(([pim]) => pim.includes('-KL-'))
      .map(([, id]) => id);
    llm.enqueue({
      toolCalls: [
        {
          name: 'create_order',
          arguments: {
            product_ids: kugellager,
            output_type_name: 'WebP 1024x1024',
            submit: null,
            material_override: null,
            render_overrides: null,
          },
        },
      ],
    });
    const mention = activity('channel-mention', { conversationId: conv });
    const started = Date.now();
    expect((await post(mention)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
    // The step is shown in a message of its own, which the confirm card then takes the place of (updated in place).
    const [steps] = await connector.waitFor(1, inConversation(conv));
    expect(JSON.stringify(steps!.activity)).toContain('Preparing the order…');
    // The steps card carries a Stop action; the confirm card that replaces it does not.
    const [proposal] = await connector.waitFor(
      1,
      (c) =>
        c.kind === 'update' &&
        c.activityId === steps!.id &&
        cardOf(c) !== undefined &&
        !JSON.stringify(c.activity).includes('renderbot.stop'),
    );
    // The core saw the text without the mention.
    const lastUser = llm.requests
      .at(-1)!
      .body.messages.filter((m) => m.role === 'user')
      .at(-1);
    expect(lastUser?.content).toBe('Render all Kugellager products as WebP at 1024x1024');
    const stored = await rows(
      app.db.orm.em.fork(),
      z.object({ content: z.string() }),
      `select m.content from chat_message m join chat_session s on s.id = m.session_id where s.key = ? and m.role = 'user'`,
      [`${AAD}:${conv}`],
    );
    expect(stored).toEqual([{ content: 'Render all Kugellager products as WebP at 1024x1024' }]);

    const card = cardOf(proposal!)!;
    expect(card).toMatchObject({
      type: 'AdaptiveCard',
      version: '1.5',
      refresh: { action: { verb: 'renderbot.refresh' } },
    });
    const confirmButton = JSON.stringify(card).match(
      /"verb":"renderbot\.confirm","data":\{"actionId":"([0-9a-f-]{36})"\}/,
    );
    expect(confirmButton).not.toBeNull();
    const actionId = confirmButton![1]!;

    llm.enqueue((req) => ({
      content: `Done: order ${/SA-\d{4}-\d{5}/.exec(JSON.stringify(req.body.messages.slice(-2)))?.[0] ?? '?'} is rendering.`,
    }));
    const click = (from?: Record<string, unknown>) =>
      activity('invoke-card-action', {
        conversationId: conv,
        replyToId: proposal!.id!,
        ...(from ? { from } : {}),
        value: {
          action: { type: 'Action.Execute', title: 'Confirm', verb: 'renderbot.confirm', data: { actionId } },
          trigger: 'manual',
        },
      });
    const res = await post(click());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: { type: 'AdaptiveCard' },
    });
    expect(JSON.stringify(res.body)).toMatch(/Confirmed by Anna Schmidt at \d{4}-\d\d-\d\d \d\d:\d\d UTC: /);
    expect(JSON.stringify(res.body)).not.toContain('renderbot.confirm');

    const orders = await rows(
      app.db.orm.em.fork(),
      z.object({ id: z.string(), number: z.string() }),
      `select id, order_number as number from render_order where tenant_id = ?`,
      [acme.tenant.id],
    );
    expect(orders).toHaveLength(1);
    expect(await count(`select count(*)::int as n from render_job where order_id = ?`, [orders[0]!.id])).toBe(
      kugellager.length,
    );
    const [followUp] = await connector.waitFor(2, inConversation(conv)).then((c) => c.slice(1));
    // In a channel the follow-up is a card: its next step ("Show progress of …") is a button on it.
    expect(cardOf(followUp!)?.body).toEqual([
      expect.objectContaining({ type: 'TextBlock', text: `Done: order ${orders[0]!.number} is rendering.` }),
      expect.objectContaining({
        type: 'ActionSet',
        actions: [expect.objectContaining({ type: 'Action.Submit', title: `Show progress of ${orders[0]!.number}` })],
      }),
    ]);
    // The local renderer finishes the order; the conversation gets exactly one completion card.
    const isNotice = (c: ConnectorCall) =>
      inConversation(conv)(c) && contentOf(c).includes(`${orders[0]!.number}** is done`);
    const [notice] = await connector.waitFor(1, isNotice);
    expect(cardOf(notice!)).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    expect(contentOf(notice!)).toContain(`all ${kugellager.length} renders completed`);
    // The claim commits right after the send.
    await vi.waitFor(async () =>
      expect(
        await count(
          `select count(*)::int as n from render_order where id = ? and status = 'completed' and notice_sent_at is not null`,
          [orders[0]!.id],
        ),
      ).toBe(1),
    );
    // Everyone sees the decided card: the original message was updated in place.
    const [update] = await connector.waitFor(
      1,
      (c) => c.kind === 'update' && c.activityId === proposal!.id && contentOf(c).includes('Confirmed by'),
    );
    expect(JSON.stringify(update!.activity)).toContain('Confirmed by Anna Schmidt');

    const again = await post(
      click({ id: '29:other-operator', name: 'Bernd Keller', aadObjectId: 'a1b2c3d4-0000-4000-8000-000000000002' }),
    );
    expect(again.status).toBe(200);
    expect(JSON.stringify(again.body)).toMatch(/already confirmed by Anna Schmidt; it ran once/);
    expect(await count(`select count(*)::int as n from render_order where tenant_id = ?`, [acme.tenant.id])).toBe(1);
    expect(connector.calls.filter(isNotice)).toHaveLength(1);

    // refresh shows the current state to anyone opening the card later
    const refresh = await post(
      activity('invoke-card-action', {
        conversationId: conv,
        value: {
          action: { type: 'Action.Execute', verb: 'renderbot.refresh', data: { actionId } },
          trigger: 'automatic',
        },
      }),
    );
    expect(refresh.status).toBe(200);
    expect(JSON.stringify(refresh.body)).toMatch(/Confirmed by .* UTC: /);
    expect(JSON.stringify(refresh.body)).not.toContain('renderbot.confirm');

    // `@RenderBot orders` lists it (proactive reply)
    const ordersConv = newThread();
    const ordersMention = activity('channel-mention', {
      conversationId: ordersConv,
      text: '<at>RenderBot</at> orders',
    });
    await post(ordersMention);
    const [listing] = await connector.waitFor(1, inConversation(ordersConv));
    expect(listing!.activity.replyToId).not.toBe(ordersMention.id); // sent proactively by the worker
    expect(contentOf(listing!)).toContain(orders[0]!.number);
    llm.assertDone();
  });

  it('guests, viewers and other organisations cannot confirm; refresh of a pending card keeps the buttons', async () => {
    const conv = newThread();
    const kugellager = Object.entries(acme.productIds)
      .filter(([pim]) => pim.includes('-KL-'))
      .map(([, id]) => id);
    llm.enqueue({
      toolCalls: [
        {
          name: 'create_order',
          arguments: {
            product_ids: kugellager.slice(0, 1),
            output_type_name: 'WebP 1024x1024',
            submit: null,
            material_override: null,
            render_overrides: null,
          },
        },
      ],
    });
    await post(activity('personal-message', { conversationId: conv, text: 'render KL 6204 as webp' }));
    const [proposal] = await connector.waitFor(1, inConversation(conv));
    const actionId = /"actionId":"([0-9a-f-]{36})"/.exec(contentOf(proposal!))![1]!;
    const value = {
      action: { type: 'Action.Execute', verb: 'renderbot.confirm', data: { actionId } },
      trigger: 'manual',
    };
    const before = await count(`select count(*)::int as n from render_order where tenant_id = ?`, [acme.tenant.id]);

    connector.setMemberRole('29:guest-user', 'guest');
    const guest = await post(
      activity('invoke-card-action', {
        conversationId: conv,
        value,
        from: { id: '29:guest-user', name: 'Gast', aadObjectId: 'b1b2c3d4-0000-4000-8000-00000000000a' },
      }),
    );
    expect(guest.status).toBe(200);
    expect(JSON.stringify(guest.body)).toMatch(/Only operators and admins can confirm/);
    const anonymous = await post(
      activity('invoke-card-action', {
        conversationId: conv,
        value,
        from: { id: '29:anon', name: 'Anonymous', aadObjectId: undefined },
      }),
    );
    expect(JSON.stringify(anonymous.body)).toMatch(/Only operators and admins can confirm/);
    const foreign = await post(
      activity('invoke-card-action', { aad: '22222222-3333-4444-8555-666666666666', conversationId: conv, value }),
    );
    expect(JSON.stringify(foreign.body)).toMatch(/not found/);
    const unlinked = await post(
      activity('invoke-card-action', { aad: '33333333-3333-4444-8555-666666666666', conversationId: conv, value }),
    );
    expect(unlinked.status).toBe(200);
    expect(JSON.stringify(unlinked.body)).toMatch(/not linked/);

    expect(await count(`select count(*)::int as n from render_order where tenant_id = ?`, [acme.tenant.id])).toBe(
      before,
    );
    expect(
      await count(`select count(*)::int as n from pending_action where id = ? and status = 'pending'`, [actionId]),
    ).toBe(1);
    const refresh = await post(
      activity('invoke-card-action', {
        conversationId: conv,
        value: { ...value, action: { ...value.action, verb: 'renderbot.refresh' } },
      }),
    );
    expect(JSON.stringify(refresh.body)).toContain('"verb":"renderbot.confirm"');
    const cancel = await post(
      activity('invoke-card-action', {
        conversationId: conv,
        value: { ...value, action: { ...value.action, verb: 'renderbot.cancel' } },
      }),
    );
    expect(JSON.stringify(cancel.body)).toMatch(/Cancelled by Anna Schmidt/);
    llm.assertDone();
  });

  it('a guest cannot `forget` a channel thread (issue 12 item 5), but may forget their own personal chat', async () => {
    const thread = newThread();
    llm.enqueue({ content: 'Three orders are rendering.' });
    await post(
      activity('channel-mention', { conversationId: thread, text: '<at>RenderBot</at> which orders are rendering?' }),
    );
    await connector.waitFor(1, inConversation(thread));
    const gast = { id: '29:guest-forget', name: 'Gast', aadObjectId: 'b1b2c3d4-0000-4000-8000-0000000000f1' };
    connector.setMemberRole(gast.id, 'guest');
    await post(activity('channel-mention', { conversationId: thread, text: '<at>RenderBot</at> forget', from: gast }));
    const [, refusal] = await connector.waitFor(2, inConversation(thread));
    expect(String(refusal!.activity.text)).toContain('only operators and admins can use `forget` here');
    const key = `${AAD}:${thread}`;
    expect(
      await count(
        `select count(*)::int as n from chat_message m join chat_session s on s.id = m.session_id where s.key = ?`,
        [key],
      ),
    ).toBeGreaterThanOrEqual(2);

    const personal = `a:personal-${++seq}`;
    await post(activity('personal-message', { conversationId: personal, text: 'forget', from: gast }));
    const [forgot] = await connector.waitFor(1, inConversation(personal));
    expect(String(forgot!.activity.text)).toContain('Forgot this conversation');
    llm.assertDone();
  });

  it('a reply the Bot Connector throttles (429 with Retry-After) or cannot take (502) is sent again after waiting as told, once; another conversation is not held up', async () => {
    const throttled = `a:throttled-${++seq}`;
    const other = `a:unthrottled-${++seq}`;
    connector.refuse(throttled, { status: 429, retryAfter: 2 }, { status: 502 });
    llm.enqueue({ content: 'Answer for the throttled chat.' }, { content: 'Answer for the other chat.' });
    await post(activity('personal-message', { conversationId: throttled, text: 'first question' }));
    await post(activity('personal-message', { conversationId: other, text: 'second question' }));
    const [otherAnswer] = await connector.waitFor(1, inConversation(other));
    const [answer] = await connector.waitFor(1, (c) => inConversation(throttled)(c) && c.refused === undefined);
    const attempts = connector.calls.filter((c) => c.conversationId === throttled && c.activity.type === 'message');
    expect(attempts.map((c) => c.refused ?? 200)).toEqual([429, 502, 200]);
    expect(answer!.activity.text).toBe('Answer for the throttled chat.');
    // The retry came after the Retry-After wait; the other conversation did not wait for it.
    expect(connector.calls.indexOf(otherAnswer!)).toBeLessThan(connector.calls.indexOf(attempts[1]!));
    expect(connector.messages().filter(inConversation(throttled))).toHaveLength(1);
  });

  it('streams a long answer in a personal chat (typing updates in order, one final message); a channel gets one message', async () => {
    const long =
      'Kugellager are ball bearings. Your catalogue has three of them: the 6204, the 6205 and the 6206 2RS. ' +
      'All three are made of bare steel and were last rendered as WebP at 1024x1024 for the spring catalogue.';
    const conv = `a:personal-${++seq}`;
    llm.enqueue({ content: long, chunkDelayMs: 700 });
    await post(activity('personal-message', { conversationId: conv, text: 'tell me about our Kugellager' }));
    const [final] = await connector.waitFor(1, inConversation(conv));
    const updates = connector.calls.filter(
      (c) => c.conversationId === conv && c.activity.type === 'typing' && Array.isArray(c.activity.entities),
    );
    expect(updates.length).toBeGreaterThanOrEqual(2);
    // botbuilder passes channelData on whole; of the streaminfo entity only its type survives serialization.
    const info = (c: ConnectorCall) => c.activity.channelData as Record<string, unknown>;
    expect(updates.every((u) => (u.activity.entities as { type: string }[]).some((e) => e.type === 'streaminfo'))).toBe(
      true,
    );
    expect(updates.map((u) => info(u).streamSequence)).toEqual(updates.map((_, i) => i + 1));
    expect(updates.map((u) => info(u).streamType)).toEqual(updates.map(() => 'streaming'));
    const streamId = updates[0]!.id;
    expect(updates.slice(1).map((u) => info(u).streamId)).toEqual(updates.slice(1).map(() => streamId));
    const texts = updates.map((u) => String(u.activity.text));
    for (const [i, t] of texts.entries()) {
      expect(long.startsWith(t)).toBe(true);
      if (i > 0) expect(t.length).toBeGreaterThan(texts[i - 1]!.length);
    }
    expect(final!.activity.text).toBe(long);
    // The final message closes the stream and keeps the answer's feedback loop (docs/design.md §12).
    expect(final!.activity.channelData).toEqual({ streamType: 'final', streamId, feedbackLoop: { type: 'custom' } });

    const channel = newThread();
    llm.enqueue({ content: long, chunkDelayMs: 700 });
    await post(
      activity('channel-mention', { conversationId: channel, text: '<at>RenderBot</at> tell me about our Kugellager' }),
    );
    const [answer] = await connector.waitFor(1, inConversation(channel));
    expect(answer!.activity.text).toBe(long);
    // A channel message is not streamed: no stream info, only the answer's AI label (docs/design.md §12).
    expect((answer!.activity.entities as { type: string }[]).map((e) => e.type)).toEqual([
      'https://schema.org/Message',
    ]);
    expect(
      connector.calls.filter(
        (c) => c.conversationId === channel && JSON.stringify(c.activity.entities ?? []).includes('streaminfo'),
      ),
    ).toEqual([]);
    llm.assertDone();
  });

  it('never answers an adaptiveCard/action invoke with an empty body', async () => {
    const res = await post(
      activity('invoke-card-action', {
        value: { action: { type: 'Action.Execute', verb: 'renderbot.unknown', data: {} } },
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    const bad = await post(
      activity('invoke-card-action', {
        value: { action: { type: 'Action.Execute', verb: 'renderbot.confirm', data: { actionId: 'not-a-uuid' } } },
      }),
    );
    expect(bad.status).toBe(200);
    expect(JSON.stringify(bad.body)).toMatch(/not found/);
  });

  it('rejects bodies that are not activities', async () => {
    const res = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(res.status).toBe(400);
    const big = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'x'.repeat(300_000) }),
    });
    expect(big.status).toBe(413);
  });

  it('answers malformed activities with a generic 400, never a 500 with internals', async () => {
    const calls = connector.calls.length;
    const good = activity('channel-mention', { conversationId: newThread(), text: '<at>RenderBot</at> help' });
    const malformed: unknown[] = [
      {},
      { type: 'message' },
      { ...good, conversation: null },
      { ...good, from: 'x' },
      { ...good, serviceUrl: 'javascript:alert(1)' },
      { ...good, serviceUrl: 'file:///etc/passwd' },
      { ...good, type: 42 },
      { ...good, recipient: undefined },
    ];
    for (const body of malformed) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: { code: 'bad_request', message: 'Body is not a valid Bot Framework activity' },
      });
    }
    expect(connector.calls.length).toBe(calls);
  });

  it('Emulator mode replies to loopback serviceUrls only: another host in serviceUrl is refused before any outbound call', async () => {
    const calls = connector.calls.length;
    const conv = newThread();
    for (const serviceUrl of [
      'https://attacker.example/',
      'http://169.254.169.254/latest/',
      'http://10.0.0.7:8080/',
      'http://[::ffff:a9fe:a9fe]/',
    ]) {
      const res = await post({
        ...activity('channel-mention', { conversationId: conv, text: '<at>RenderBot</at> orders' }),
        serviceUrl,
      });
      expect(res.status).toBe(403);
    }
    expect(connector.calls.length).toBe(calls);
    expect(await count(`select count(*)::int as n from inbound_event where event_id like ?`, [`%${conv}%`])).toBe(0);
  });
});

describe('Teams roles follow the roster', () => {
  it('a member who became a guest is a viewer once the roster is read again: no confirm of a cancel_order, by card or typed; a role an admin set is kept', async () => {
    const fritz = { id: '29:fritz-member', name: 'Fritz Member', aadObjectId: 'c1c2c3d4-0000-4000-8000-0000000000f1' };
    const kim = {
      id: '29:kim-contractor',
      name: 'Kim Contractor',
      aadObjectId: 'c1c2c3d4-0000-4000-8000-0000000000f2',
    };
    await setUserRole(app.db.orm.em.fork(), acme.tenant.id, 'teams', kim.aadObjectId, 'operator');
    const draft = await createOrder(app.db.orm.em.fork(), acme.tenant.id, {
      products: { refs: ['ACME-KL-6204'] },
      outputTypeName: 'WebP 1024x1024',
      submit: false,
      createdBy: 'seed',
      now: new Date(),
    });
    const roleOf = (userId: string) =>
      rows(
        app.db.orm.em.fork(),
        userRole,
        `select role, role_source from tenant_user where tenant_id = ? and platform = 'teams' and external_user_id = ?`,
        [acme.tenant.id, userId],
      );
    const conv = `a:fritz-${++seq}`;

    // Fritz, a member, asks to drop the draft: an operator by default.
    llm.enqueue({ toolCalls: [{ name: 'cancel_order', arguments: { order_id: draft.orderNumber } }] });
    await post(
      activity('personal-message', {
        conversationId: conv,
        from: fritz,
        text: `please drop order ${draft.orderNumber}`,
      }),
    );
    const [proposal] = await connector.waitFor(1, inConversation(conv));
    expect(contentOf(proposal!)).toContain(`Cancel ${draft.orderNumber}`);
    const actionId = /"verb":"renderbot\.confirm","data":\{"actionId":"([0-9a-f-]{36})"\}/.exec(
      contentOf(proposal!),
    )![1]!;
    expect(await roleOf(fritz.aadObjectId)).toEqual([{ role: 'operator', role_source: 'default' }]);

    // Both are guests in the roster now; the bot learns it once its answer about them is out of date.
    connector.setMemberRole(fritz.id, 'guest');
    connector.setMemberRole(kim.id, 'guest');
    skew += PERSON_FACTS_TTL_MS;

    const click = (from: Record<string, unknown>) =>
      post(
        activity('invoke-card-action', {
          conversationId: conv,
          replyToId: proposal!.id!,
          from,
          value: {
            action: { type: 'Action.Execute', title: 'Confirm', verb: 'renderbot.confirm', data: { actionId } },
            trigger: 'manual',
          },
        }),
      );
    expect(JSON.stringify((await click(fritz)).body)).toMatch(/Only operators and admins can confirm/);
    expect(await roleOf(fritz.aadObjectId)).toEqual([{ role: 'viewer', role_source: 'default' }]);
    await post(activity('personal-message', { conversationId: conv, from: fritz, text: 'confirm' }));
    const [, refusal] = await connector.waitFor(2, inConversation(conv));
    expect(contentOf(refusal!)).toMatch(/Only operators and admins can confirm/);
    expect(
      await count(`select count(*)::int as n from pending_action where id = ? and status = 'pending'`, [actionId]),
    ).toBe(1);

    // Kim's operator role was an admin's decision: kept although the roster calls her a guest.
    expect(JSON.stringify((await click(kim)).body)).toMatch(/Confirmed by Kim Contractor/);
    expect(await roleOf(kim.aadObjectId)).toEqual([{ role: 'operator', role_source: 'admin' }]);
    expect(
      await count(`select count(*)::int as n from render_order where id = ? and status = 'cancelled'`, [draft.orderId]),
    ).toBe(1);
  });
});

describe('Teams is closed by default', () => {
  it('without MicrosoftAppId and TEAMS_EMULATOR there is no /api/messages: an unsigned activity for a linked tenant gets 404, nothing runs, nothing is called', async () => {
    const closed = await createApp(testConfig(db), silentLog);
    const channels = await createChannels(closed);
    expect(channels.map((c) => c.platform)).not.toContain('teams');
    const server = await startHttpServer(
      closed,
      0,
      channels.flatMap((c) => c.routes),
    );
    const conv = newThread();
    const calls = connector.calls.length;
    const requests = llm.requests.length;
    try {
      for (const text of ['<at>RenderBot</at> orders', '<at>RenderBot</at> confirm']) {
        const res = await fetch(`http://127.0.0.1:${server.port}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(activity('channel-mention', { conversationId: conv, text })),
        });
        expect(res.status).toBe(404);
      }
    } finally {
      await server.close();
      await closed.close();
    }
    expect(connector.calls.length).toBe(calls);
    expect(llm.requests.length).toBe(requests);
    expect(await count(`select count(*)::int as n from inbound_event where event_id like ?`, [`%${conv}%`])).toBe(0);
    expect(await count(`select count(*)::int as n from chat_session where key like ?`, [`%${conv}%`])).toBe(0);
  });

  it('Emulator mode takes loopback callers only', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of [undefined, '', '10.0.0.1', '192.168.1.5', '::ffff:10.0.0.1', 'fe80::1', '0.0.0.0', '::'])
      expect(isLoopbackAddress(a)).toBe(false);
    for (const u of ['http://localhost:3978/', 'http://127.0.0.1:1/', 'http://[::1]:9/'])
      expect(isLoopbackUrl(u)).toBe(true);
    for (const u of [
      'http://localhost.attacker.example/',
      'http://127.0.0.1.nip.io/',
      'https://example.com/',
      'http://[::ffff:a9fe:a9fe]/',
      'not a url',
    ])
      expect(isLoopbackUrl(u)).toBe(false);
  });
});

describe('Teams authentication and configuration', () => {
  it('with MicrosoftAppId set, requests without or with a bogus token get 401 and nothing is queued', async () => {
    const adapter = createTeamsAdapter({
      config: {
        MicrosoftAppId: '0d5c1f5e-7a5b-4d8e-9c2a-6f3e1b2a4c5d',
        MicrosoftAppPassword: 'not-a-real-secret',
        MicrosoftAppType: 'MultiTenant',
      },
      intake: app.intake,
      conversations: app.conversations,
      log: silentLog,
    });
    const server = await startHttpServer(app, 0, [adapter.route]);
    const conv = newThread();
    const events = () =>
      count(`select count(*)::int as n from inbound_event where event_id like ?`, [`${AAD}:${conv}:%`]);
    const calls = connector.calls.length;
    const error = console.error;
    console.error = () => {}; // CloudAdapter prints rejected tokens to the console
    try {
      const unsignedJwt = `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"iss":"https://evil.example","aud":"0d5c1f5e-7a5b-4d8e-9c2a-6f3e1b2a4c5d"}').toString('base64url')}.c2ln`;
      for (const headers of [{}, { authorization: 'Bearer not-a-jwt' }, { authorization: `Bearer ${unsignedJwt}` }]) {
        const res = await fetch(`http://127.0.0.1:${server.port}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(activity('channel-mention', { conversationId: conv, text: '<at>RenderBot</at> help' })),
        });
        expect(res.status).toBe(401);
      }
    } finally {
      console.error = error;
      await server.close();
    }
    expect(await events()).toBe(0);
    expect(connector.calls.length).toBe(calls);
  });

  it('accepts a token signed by the configured key set; unknown keys, wrong audience, expired tokens and another serviceUrl → 401', async () => {
    // A locally issued OpenID configuration and key set in place of login.botframework.com (the same settings a sovereign cloud uses).
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const issuer = 'https://api.botframework.test';
    const keyServer = createServer((req, res) => {
      const body =
        req.url === '/openid'
          ? {
              issuer,
              jwks_uri: `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/keys`,
              id_token_signing_alg_values_supported: ['RS256'],
            }
          : {
              keys: [
                { ...publicKey.export({ format: 'jwk' }), kid: 'local-key-1', use: 'sig', endorsements: ['msteams'] },
              ],
            };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
    const keysBase = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;
    const appId = '0d5c1f5e-7a5b-4d8e-9c2a-6f3e1b2a4c5d';
    const adapter = createTeamsAdapter({
      config: {
        MicrosoftAppId: appId,
        MicrosoftAppPassword: 'not-a-real-secret',
        MicrosoftAppType: 'MultiTenant',
        ToChannelFromBotLoginUrl: 'https://login.botframework.test/botframework.com',
        ToChannelFromBotOAuthScope: 'https://api.botframework.test',
        ToBotFromChannelTokenIssuer: issuer,
        ToBotFromChannelOpenIdMetadataUrl: `${keysBase}/openid`,
        ToBotFromEmulatorOpenIdMetadataUrl: `${keysBase}/openid`,
      },
      intake: app.intake,
      conversations: app.conversations,
      log: silentLog,
    });
    const server = await startHttpServer(app, 0, [adapter.route]);
    // Someone else joined the team: authenticated, handled, and nothing to send back (no outbound token needed).
    const update = { ...activity('conversation-update-bot-added'), membersAdded: [{ id: '29:another-member' }] };
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      aud: appId,
      serviceurl: connector.url,
      nbf: now - 60,
      iat: now - 60,
      exp: now + 3600,
    };
    const sign = (payload: Record<string, unknown>, key = privateKey, kid = 'local-key-1') => {
      const head = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid })).toString('base64url');
      const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
      return `${head}.${body}.${createSign('RSA-SHA256').update(`${head}.${body}`).sign(key).toString('base64url')}`;
    };
    const send = async (token: string, a: Record<string, unknown> = update) =>
      (
        await fetch(`http://127.0.0.1:${server.port}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(a),
        })
      ).status;
    const error = console.error;
    console.error = () => {}; // CloudAdapter prints rejected tokens to the console
    try {
      expect(await send(sign(claims))).toBe(200);
      expect(await send(sign(claims, other))).toBe(401);
      expect(await send(sign(claims, other, 'unknown-key'))).toBe(401);
      expect(await send(sign({ ...claims, aud: '11111111-2222-4333-8444-555555555555' }))).toBe(401);
      expect(await send(sign({ ...claims, iss: 'https://evil.example' }))).toBe(401);
      expect(await send(sign({ ...claims, exp: now - 3600, nbf: now - 7200, iat: now - 7200 }))).toBe(401);
      expect(await send(sign(claims), { ...update, serviceUrl: 'https://attacker.example/' })).toBe(401);
    } finally {
      console.error = error;
      await server.close();
      await new Promise((r) => keyServer.close(r));
    }
  });

  it('validates the Microsoft* settings with clear errors', () => {
    expect(teamsSettings({})).toEqual({ mode: 'off' });
    expect(teamsSettings({ TEAMS_EMULATOR: true })).toEqual({ mode: 'emulator' });
    const id = '0d5c1f5e-7a5b-4d8e-9c2a-6f3e1b2a4c5d';
    expect(teamsSettings({ MicrosoftAppId: id, MicrosoftAppPassword: 's' })).toMatchObject({
      mode: 'botframework',
      appType: 'MultiTenant',
    });
    expect(
      teamsSettings({ MicrosoftAppId: id, MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: AAD }),
    ).toMatchObject({ appType: 'UserAssignedMSI' });
    const bad: [Parameters<typeof teamsSettings>[0], RegExp][] = [
      [{ MicrosoftAppId: id }, /needs MicrosoftAppPassword/],
      [
        { MicrosoftAppId: id, MicrosoftAppPassword: 's', MicrosoftAppType: 'SingleTenant' },
        /SingleTenant needs MicrosoftAppTenantId/,
      ],
      [{ MicrosoftAppId: id, MicrosoftAppType: 'UserAssignedMSI' }, /UserAssignedMSI needs MicrosoftAppTenantId/],
      [{ MicrosoftAppPassword: 's' }, /MicrosoftAppId is not/],
      [{ MicrosoftAppId: 'renderbot', MicrosoftAppPassword: 's' }, /GUID/],
      [
        { MicrosoftAppId: id, MicrosoftAppPassword: 's', TEAMS_EMULATOR: true },
        /cannot be combined with MicrosoftAppId/,
      ],
    ];
    for (const [config, message] of bad) {
      expect(() => teamsSettings(config)).toThrow(ConfigError);
      expect(() => teamsSettings(config)).toThrow(message);
    }
  });

  it('says Emulator mode in the startup log, and refuses to start when misconfigured', async () => {
    const lines: string[] = [];
    const log = createLogger(
      'info',
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    createTeamsAdapter({ config: { TEAMS_EMULATOR: true }, intake: app.intake, conversations: app.conversations, log });
    expect(lines.join('')).toMatch(/Emulator mode .*only loopback callers/);
    await expect(
      createTeamsChannel({
        ...app,
        config: {
          ...app.config,
          TEAMS_EMULATOR: false,
          MicrosoftAppId: '0d5c1f5e-7a5b-4d8e-9c2a-6f3e1b2a4c5d',
          MicrosoftAppType: 'SingleTenant',
          MicrosoftAppPassword: 's',
        },
      }),
    ).rejects.toThrow(/MicrosoftAppTenantId/);
  });
});
