import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rows } from './support/rows.ts';
import { createSlackChannel } from '../bot/slack.ts';
import type { Deliverer } from '../core/replies/delivery.ts';
import { textReply } from '../core/replies/reply.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startSlackHarness, type SlackHarness } from './fakes/slack-harness.ts';
import type { FakeTeam } from './fakes/slack-api.ts';

/*
 * Workspaces installed with token rotation: the bot token expires and is refreshed with a refresh
 * token Slack revokes once used. Two processes serving the same workspace refresh it once; a
 * refresh Slack refuses is recorded and said once, not retried on every turn.
 */

let h: SlackHarness;
let acme: TenantFixture;
const T9: FakeTeam = {
  token: 'xoxb-9999-rotating-fake',
  teamId: 'T0TEAM0009',
  teamName: 'Rotor KG',
  botUserId: 'U0BOT00009',
  botId: 'B0BOT00009',
};
/** The bot part of a stored installation with token rotation. */
const rotatingBot = z
  .object({ bot: z.object({ token: z.string(), refreshToken: z.string(), expiresAt: z.number() }).loose() })
  .loose();

beforeAll(async () => {
  h = await startSlackHarness({ oauth: true });
  acme = await makeTenant(h.em(), 'acme');
});
afterAll(async () => {
  await h?.close();
});

async function install(code: string): Promise<void> {
  h.slack.addGrant({ code, team: T9, authedUser: 'U0INSTALLER', scope: 'commands,chat:write', rotation: true });
  const start = await fetch(`${h.base}/slack/install`, { redirect: 'manual' });
  const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
  const done = await fetch(`${h.base}/slack/oauth_redirect?code=${code}&state=${encodeURIComponent(state)}`, {
    headers: { cookie: `slack-app-oauth-state=${state}` },
  });
  expect(done.status).toBe(200);
}

/** The stored installation, as if `secondsLeft` remained before its bot token expires. */
async function expiresIn(secondsLeft: number) {
  const stored = rotatingBot.parse(await h.app.intake.installations.find({ teamId: T9.teamId }));
  const aged = { ...stored, bot: { ...stored.bot, expiresAt: Math.floor(Date.now() / 1000) + secondsLeft } };
  await h.app.intake.installations.save({
    teamId: T9.teamId,
    teamName: T9.teamName,
    botUserId: T9.botUserId,
    botId: T9.botId,
    installedBy: 'U0INSTALLER',
    secret: aged,
  });
  return aged;
}

const target = (channel: string) => ({ teamId: T9.teamId, tenantId: acme.tenant.id, channel, userId: 'U0ROTOR001' });
const refreshes = () => h.slack.callsOf('oauth.v2.access', (c) => c.body.grant_type === 'refresh_token');

describe('Slack token rotation', () => {
  it('refreshes a token about to expire once, although two processes deliver at the same moment', async () => {
    await install('code-T9');
    const installed = rotatingBot.parse(await h.app.intake.installations.find({ teamId: T9.teamId }));
    expect(installed.bot.expiresAt * 1000).toBeGreaterThan(Date.now() + 11 * 3600_000);
    // A second process: its own Slack channel (its own refresh identity) on the same database.
    const other = (await createSlackChannel(h.app))!;
    const deliverers: Deliverer[] = [h.app.deliverers.get('slack')!, other.deliverer];
    const before = refreshes().length;
    const old = await expiresIn(60);

    const sent = await Promise.all(
      deliverers.flatMap((deliver, i) =>
        [0, 1].map((j) => deliver(target(`C0ROT${i}${j}`), textReply(`hello ${i}.${j}`), { sessionId: 'rotation' })),
      ),
    );
    expect(sent.every((m) => typeof m?.ts === 'string')).toBe(true);
    expect(refreshes().length - before).toBe(1);
    const stored = rotatingBot.parse(await h.app.intake.installations.find({ teamId: T9.teamId }));
    expect(stored.bot.token).not.toBe(old.bot.token);
    expect(stored.bot.refreshToken).not.toBe(old.bot.refreshToken);
    const posts = h.slack.callsOf('chat.postMessage', (c) => String(c.body.channel).startsWith('C0ROT'));
    expect(posts).toHaveLength(4);
    expect(posts.every((c) => c.token === stored.bot.token)).toBe(true);
    // A token good for hours is used as it is.
    await deliverers[1]!(target('C0ROT99'), textReply('later'), { sessionId: 'rotation' });
    expect(refreshes().length - before).toBe(1);
    expect(h.slack.failures).toEqual([]);
    await other.stop();
  });

  it('a refresh Slack refuses is recorded and logged once; later uses fail at once until the app is installed again', async () => {
    const deliver = h.app.deliverers.get('slack')!;
    await expiresIn(60);
    h.slack.revokeRefreshTokens();
    const before = refreshes().length;
    await expect(deliver(target('C0ROTFAIL1'), textReply('hello'), { sessionId: 'rotation' })).rejects.toMatchObject({
      code: 'slack_token_refresh_failed',
    });
    await expect(deliver(target('C0ROTFAIL2'), textReply('hello'), { sessionId: 'rotation' })).rejects.toThrow(
      /install the app again/,
    );
    expect(refreshes().length - before).toBe(1);
    expect(h.logs.lines.filter((l) => String(l.msg).startsWith('Slack refused to refresh'))).toHaveLength(1);
    expect(
      await rows(
        h.em(),
        z.object({ refresh_error: z.string().nullable(), failed: z.boolean() }),
        `select refresh_error, refresh_failed_at is not null as failed from slack_installation where team_id = ?`,
        [T9.teamId],
      ),
    ).toEqual([{ refresh_error: 'invalid_refresh_token', failed: true }]);
    // Nothing secret is logged or stored in the clear.
    expect(JSON.stringify(h.logs.lines)).not.toMatch(/xoxe-1-|xoxb-rotated/);

    await install('code-T9-again');
    expect(await deliver(target('C0ROTBACK1'), textReply('back'), { sessionId: 'rotation' })).toMatchObject({
      channel: 'C0ROTBACK1',
    });
  });
});
