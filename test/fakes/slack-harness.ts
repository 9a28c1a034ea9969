import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createApp, type App } from '../../bot/app.ts';
import { renderRoutes } from '../../bot/renders.ts';
import { startHttpServer } from '../../bot/server.ts';
import { createSlackChannel } from '../../bot/slack.ts';
import { createModelProvider } from '../../core/llm/provider.ts';
import { setTenantAi } from '../../core/llm/settings.ts';
import { linkWorkspace } from '../../core/tenancy/links.ts';
import { createTestDatabase, freePort, testConfig, type TestDatabase } from '../support/db.ts';
import { makeTenant, type TenantFixture } from '../support/fixtures.ts';
import { startFakeLlm, type FakeLlm } from './llm-server.ts';
import { PLACEHOLDER_TEXT } from '../../adapters/slack/messages.ts';
import { startFakeSlack, type FakeSlack, type FakeTeam, type SlackCall } from './slack-api.ts';
import { createSlackSender } from './slack-request.ts';

/** A parsed log line. */
type LogLine = { level: number; msg: string; component?: string; [key: string]: unknown };

/** A pino logger that keeps every line in memory, with a waiter for lines (no sleeps). */
function captureLogs() {
  const lines: LogLine[] = [];
  const waiters: { where: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const logger = pino(
    { level: 'debug', base: undefined },
    {
      write(chunk: string) {
        const line = JSON.parse(chunk) as LogLine;
        lines.push(line);
        for (const w of [...waiters])
          if (w.where(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
      },
    },
  );
  return {
    logger,
    lines,
    /** Resolves with the first matching line, logged already or later. */
    waitFor(where: (l: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
      const found = lines.find(where);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = {
          where,
          resolve: (l: LogLine) => {
            clearTimeout(t);
            resolve(l);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error('no matching log line'));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    /** The outcome the Slack adapter logged for an event id / trigger id. */
    outcome: (eventId: string) =>
      new Promise<string>((resolve, reject) => {
        const where = (l: LogLine) => l.msg === 'slack event done' && l.eventId === eventId;
        const found = lines.find(where);
        if (found) return resolve(String(found.outcome));
        const w = {
          where,
          resolve: (l: LogLine) => {
            clearTimeout(t);
            resolve(String(l.outcome));
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no outcome logged for ${eventId}`));
        }, 15_000);
        waiters.push(w);
      }),
  };
}

export const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

/** The default workspace of the tests. */
export const TEAM: FakeTeam = {
  token: 'xoxb-1111-team1-fake',
  teamId: 'T0TEAM0001',
  teamName: 'Acme GmbH',
  botUserId: 'U0BOT00001',
  botId: 'B0BOT00001',
};

/** The bot as `renderbot serve` runs it — real composition root, HTTP in, fake Slack and LLM out. */
export type SlackHarness = Awaited<ReturnType<typeof startSlackHarness>>;

/**
 * `publicUrl`: serve on a port chosen up front and set PUBLIC_URL to it (render links, farm
 * callbacks). `now`: the bot's clock (cache lifetimes, timestamps it writes); the real one by default.
 */
export async function startSlackHarness(
  opts: {
    oauth?: boolean;
    publicUrl?: boolean;
    now?: () => Date;
    env?: Record<string, string>;
    turnPollMs?: number;
  } = {},
) {
  const slack: FakeSlack = await startFakeSlack();
  const llm: FakeLlm = await startFakeLlm({ provider: 'azure' });
  const db: TestDatabase = await createTestDatabase();
  const logs = captureLogs();
  const port = opts.publicUrl ? await freePort() : 0;
  const config = testConfig(db, {
    ...(opts.publicUrl ? { PUBLIC_URL: `http://127.0.0.1:${port}` } : {}),
    ...opts.env,
    SECRETS_KEY: randomBytes(32).toString('hex'),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    ...(opts.oauth
      ? {
          SLACK_CLIENT_ID: '1111.2222',
          SLACK_CLIENT_SECRET: 'client-secret-fake',
          SLACK_STATE_SECRET: 'state-secret-fake',
        }
      : { SLACK_BOT_TOKEN: TEAM.token }),
  });
  const app: App = await createApp(config, logs.logger, {
    worker: true,
    models: createModelProvider(config.secretsKey, logs.logger, { timeoutMs: 5000 }),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.turnPollMs ? { turnPollMs: opts.turnPollMs } : {}),
  });
  const channel = await createSlackChannel(app);
  if (!channel) throw new Error('Slack channel not created');
  app.deliverers.set('slack', channel.deliverer);
  if (channel.streamer) app.streamers.set('slack', channel.streamer);
  await app.start();
  const http = await startHttpServer(app, port, [...channel.routes, ...renderRoutes(app)]);
  // As `renderbot serve` does: the channel starts (its stored-request replays) once the server listens.
  await channel.start?.();
  const base = `http://127.0.0.1:${http.port}`;
  /** Links a Slack team to a tenant and gives the tenant the fake LLM. */
  const link = async (tenantId: string, teamId: string) => {
    await linkWorkspace(app.db.orm.em.fork(), tenantId, 'slack', teamId);
    await setTenantAi(app.db.orm.em.fork(), config.secretsKey, tenantId, llm.settings, llm.apiKey);
  };
  return {
    slack,
    llm,
    db,
    app,
    logs,
    config,
    base,
    send: createSlackSender(base, SIGNING_SECRET),
    em: () => app.db.orm.em.fork(),
    /**
     * The first answer of a queued turn: the "Working on it…" placeholder the adapter posted
     * where `where` matches (channel, thread; among calls from index `from`), and the chat.update
     * that turned that same message into the answer.
     */
    async answer(
      where: (c: SlackCall) => boolean,
      opts: { from?: number } = {},
    ): Promise<{ placeholder: SlackCall; update: SlackCall }> {
      const placeholder = await slack.waitFor(
        'chat.postMessage',
        (c) => c.body.text === PLACEHOLDER_TEXT && where(c),
        opts,
      );
      const ts = placeholder.response?.ts;
      // A turn that streamed (its text, or the steps of its tool calls) is answered in the streamed message instead.
      const after = slack.calls.indexOf(placeholder);
      const streamed = (t: unknown) =>
        slack.callsOf(
          'chat.startStream',
          (s) =>
            s.response?.ts === t &&
            s.body.channel === placeholder.body.channel &&
            where(s) &&
            slack.calls.indexOf(s) > after,
        ).length > 0;
      // Edits that show the steps or the text so far end in a lone "…" (adapters/slack/stream.ts); the answer does not.
      const interim = (c: SlackCall) => /(^|\s)…$/.test(String(c.body.text ?? ''));
      const update = await slack.waitFor(
        'chat.update',
        (c) => (c.body.ts === ts || streamed(c.body.ts)) && c.body.channel === placeholder.body.channel && !interim(c),
        opts,
      );
      return { placeholder, update };
    },
    link,
    /**
     * Most Slack tests' world: team TEAM with Alice Example (`userId`) in it, and tenant `acme`
     * (makeTenant) linked to it with the fake LLM.
     */
    async acmeWithAlice(userId: string): Promise<TenantFixture> {
      slack.addTeam(TEAM);
      slack.addUser({ id: userId, teamId: TEAM.teamId, name: 'alice', real_name: 'Alice Example' });
      const acme = await makeTenant(app.db.orm.em.fork(), 'acme');
      await link(acme.tenant.id, TEAM.teamId);
      return acme;
    },
    async close() {
      await http.close();
      await channel.stop();
      await app.close();
      await llm.close();
      await slack.close();
      await db.drop();
    },
  };
}
