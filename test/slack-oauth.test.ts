import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rows as readRows } from './support/rows.ts';
import { createLinkCode } from '../core/tenancy/links.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startSlackHarness, type SlackHarness } from './fakes/slack-harness.ts';
import { buttonClick, mentionEvent, slashCommand, type Who } from './fakes/slack-request.ts';
import type { FakeTeam, SlackCall } from './fakes/slack-api.ts';

let h: SlackHarness;
let beta: TenantFixture;
let gamma: TenantFixture;
const T7: FakeTeam = {
  token: 'xoxb-7777-oauth-installed-fake',
  teamId: 'T0TEAM0007',
  teamName: 'Beta AG',
  botUserId: 'U0BOT00007',
  botId: 'B0BOT00007',
};
const T8: FakeTeam = {
  token: 'xoxb-8888-other-workspace-fake',
  teamId: 'T0TEAM0008',
  teamName: 'Gamma SA',
  botUserId: 'U0BOT00008',
  botId: 'B0BOT00008',
};
const bob: Who = { teamId: T7.teamId, userId: 'U0BOB00007', channel: 'C0BETA0001' };
const eve: Who = { teamId: T8.teamId, userId: 'U0EVE00008', channel: 'C0GAMMA001' };

beforeAll(async () => {
  h = await startSlackHarness({ oauth: true });
  h.slack.addUser({ id: bob.userId, teamId: T7.teamId, name: 'bob' });
  h.slack.addUser({ id: eve.userId, teamId: T8.teamId, name: 'eve' });
  beta = await makeTenant(h.em(), 'beta');
  gamma = await makeTenant(h.em(), 'gamma');
});
afterAll(async () => {
  await h?.close();
});

const shown = (c: SlackCall) => JSON.stringify({ text: c.body.text, blocks: c.body.blocks });

/** The browser side of "Add to Slack": /slack/install, then Slack's redirect back with code and state. */
async function install(team: FakeTeam, code: string): Promise<Response> {
  h.slack.addGrant({
    code,
    team,
    authedUser: 'U0INSTALLER',
    scope: 'commands,chat:write,app_mentions:read,channels:history,groups:history,im:history,im:write,users:read',
  });
  const start = await fetch(`${h.base}/slack/install`, { redirect: 'manual' });
  const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
  return fetch(`${h.base}/slack/oauth_redirect?code=${code}&state=${encodeURIComponent(state)}`, {
    headers: { cookie: `slack-app-oauth-state=${state}` },
  });
}

describe('Slack OAuth install', () => {
  it('/slack/install redirects to Slack’s authorize URL with the scopes and a state bound to a cookie', async () => {
    const res = await fetch(`${h.base}/slack/install`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe('https://slack.com/oauth/v2/authorize');
    expect(location.searchParams.get('client_id')).toBe('1111.2222');
    expect(location.searchParams.get('scope')!.split(',')).toEqual(
      expect.arrayContaining([
        'commands',
        'chat:write',
        'app_mentions:read',
        'channels:history',
        'groups:history',
        'im:history',
        'users:read',
      ]),
    );
    const state = location.searchParams.get('state')!;
    expect(state.length).toBeGreaterThan(20);
    expect(res.headers.get('set-cookie')).toContain(`slack-app-oauth-state=${state}`);
  });

  it('/slack/oauth_redirect exchanges the code and stores the installation encrypted', async () => {
    const res = await install(T7, 'code-T7');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('RenderBot is installed');
    expectStrictCsp(res);
    const exchange = await h.slack.waitFor('oauth.v2.access');
    expect(exchange.body).toMatchObject({ code: 'code-T7', client_id: '1111.2222' });
    expect(h.slack.callsOf('auth.test').some((c) => c.token === T7.token)).toBe(true);
    // Every column is kept (a loose object), so the token is looked for in all of them.
    const rows = await readRows(
      h.em(),
      z.looseObject({
        team_id: z.string().nullable(),
        team_name: z.string().nullable(),
        bot_user_id: z.string().nullable(),
        bot_id: z.string().nullable(),
        is_enterprise_install: z.boolean(),
        installation_encrypted: z.string(),
      }),
      `select * from slack_installation`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      team_id: T7.teamId,
      team_name: 'Beta AG',
      bot_user_id: T7.botUserId,
      bot_id: T7.botId,
      is_enterprise_install: false,
    });
    expect(rows[0]!.installation_encrypted).toMatch(/^v1:/);
    expect(JSON.stringify(rows)).not.toContain(T7.token);
    expect(JSON.stringify(rows)).not.toContain('7777');
  });

  it('refuses a redirect whose state does not belong to the browser', async () => {
    h.slack.addGrant({ code: 'code-forged', team: T8, authedUser: 'U0MALLORY', scope: 'chat:write' });
    const start = await fetch(`${h.base}/slack/install`, { redirect: 'manual' });
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const res = await fetch(`${h.base}/slack/oauth_redirect?code=code-forged&state=${encodeURIComponent(state)}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Installation failed');
    expectStrictCsp(res);
    expect(h.slack.callsOf('oauth.v2.access', (c) => c.body.code === 'code-forged')).toHaveLength(0);
  });
});

/** The OAuth pages run no script and load nothing (issue 12 item 3). */
function expectStrictCsp(res: Response) {
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).not.toMatch(/script-src|unsafe-inline/);
}

describe('an installed workspace', () => {
  it('is told how to link while unlinked, and no model is called', async () => {
    const env = mentionEvent(bob, 'show my orders please', { botUserId: T7.botUserId });
    await h.send.event(env);
    const note = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === bob.userId);
    expect(note.token).toBe(T7.token);
    expect(String(note.body.text)).toContain('renderbot admin link code --tenant');
    expect(String(note.body.text)).toContain('/render link CODE');
    expect(note.body.thread_ts).toBe(env.event.ts);

    const url = h.slack.responseUrl();
    await h.send.command(slashCommand(bob, 'orders', url));
    const answer = await h.slack.waitFor('response_url', (c) => c.path === new URL(url).pathname);
    expect(String(answer.body.text)).toContain('not linked');
    expect(h.llm.requests).toHaveLength(0);
  });

  it('/render link CODE links it; the code works once', async () => {
    const { code } = await createLinkCode(h.em(), beta.tenant.id, new Date());
    const url = h.slack.responseUrl();
    await h.send.command(slashCommand(bob, `link ${code}`, url));
    const answer = await h.slack.waitFor('response_url', (c) => c.path === new URL(url).pathname);
    expect(String(answer.body.text)).toContain('Linked this workspace to *Tenant beta*');
    expect(
      await readRows(
        h.em(),
        z.object({ tenant_id: z.string() }),
        `select tenant_id from platform_link where platform = 'slack' and external_id = ?`,
        [T7.teamId],
      ),
    ).toEqual([{ tenant_id: beta.tenant.id }]);

    const url2 = h.slack.responseUrl();
    await h.send.command(slashCommand({ ...bob, teamId: 'T0TEAM0007' }, `link ${code}`, url2));
    const again = await h.slack.waitFor('response_url', (c) => c.path === new URL(url2).pathname);
    expect(String(again.body.text)).toContain('already linked');
  });

  it('later events of that team use its own installed token', async () => {
    await h.link(beta.tenant.id, T7.teamId);
    h.llm.enqueue({ content: 'Beta has no failed orders.' });
    const env = mentionEvent(bob, 'any failed orders?', { botUserId: T7.botUserId });
    await h.send.event(env);
    const { placeholder, update } = await h.answer((c) => c.body.thread_ts === env.event.ts);
    expect(placeholder.token).toBe(T7.token);
    expect(update.token).toBe(T7.token);
    expect(update.body.text).toContain('Beta has no failed orders.');
    expect(h.slack.callsOf('users.info', (c) => c.body.user === bob.userId).every((c) => c.token === T7.token)).toBe(
      true,
    );
    h.llm.assertDone();
  });

  it('events of a team that never installed the app are acked and dropped', async () => {
    const stranger = mentionEvent({ teamId: 'T0NOINSTAL', userId: 'U0STRANGER', channel: 'C0X' }, 'hello', {
      botUserId: 'U0BOTX',
    });
    const before = h.slack.calls.length;
    expect((await h.send.event(stranger)).status).toBe(200);
    await h.logs.waitFor((l) => String(l.msg).includes('Authorization of incoming event did not succeed'));
    expect(h.slack.calls.length).toBe(before);
  });

  it('a click from another workspace cannot decide this tenant’s confirmation', async () => {
    expect((await install(T8, 'code-T8')).status).toBe(200);
    await h.link(gamma.tenant.id, T8.teamId);
    h.slack.addUser({ id: 'U0BOB00007', teamId: T7.teamId, name: 'bob' });
    const ids = Object.entries(beta.productIds)
      .filter(([pim]) => pim.includes('-KL-'))
      .map(([, id]) => id);
    h.llm.enqueue({
      toolCalls: [
        {
          name: 'create_order',
          arguments: {
            product_ids: ids,
            output_type_name: 'WebP 1024x1024',
            submit: true,
            material_override: null,
            render_overrides: null,
          },
        },
      ],
    });
    const env = mentionEvent(bob, 'render the Kugellager as WebP', { botUserId: T7.botUserId });
    await h.send.event(env);
    const { update: card } = await h.answer((c) => c.body.thread_ts === env.event.ts);
    expect(shown(card)).toContain('renderbot.confirm');
    const actionId = /"value":"([0-9a-f-]{36})"/.exec(shown(card).replace(/\\"/g, '"'))![1]!;
    const from = h.slack.calls.length;
    await h.send.action(
      buttonClick(eve, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: String(card.body.ts),
        threadTs: env.event.ts,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    const refusal = await h.slack.waitFor('chat.postEphemeral', (c) => c.body.user === eve.userId, { from });
    expect(refusal.token).toBe(T8.token);
    expect(String(refusal.body.text)).toContain('not found');
    expect(
      await readRows(h.em(), z.object({ status: z.string() }), `select status from pending_action where id = ?`, [
        actionId,
      ]),
    ).toEqual([{ status: 'pending' }]);
    expect(h.slack.calls.slice(from).filter((c) => c.method === 'chat.update')).toHaveLength(0);
    h.llm.assertDone();
  });
});
