import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrm, migrate } from '../core/db/orm.ts';
import { storeRequest } from '../core/queue/inbound-requests.ts';
import { createIntakePool } from '../core/db/intake-pool.ts';
import { loadConfig } from '../core/config.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { installQueue } from '../core/queue/queue.ts';
import { linkWorkspace } from '../core/tenancy/links.ts';
import { startFakeConnector, type FakeConnector } from './fakes/bot-connector.ts';
import { echoStep, startFakeLlm, type FakeLlm, type FakeStep } from './fakes/llm-server.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack-api.ts';
import { SIGNING_SECRET, TEAM } from './fakes/slack-harness.ts';
import { createSlackSender, mentionEvent, slashCommand, type SignedRequest } from './fakes/slack-request.ts';
import { makeTenant } from './support/fixtures.ts';
import { countOf, row } from './support/rows.ts';
import { z } from 'zod';
import { startPrivateCluster, type PrivateCluster } from './support/private-cluster.ts';
import { startServe, type ServeProcess } from './support/serve.ts';

/*
 * The database goes away and comes back (a crash, a failover, a restart): `renderbot serve` on a
 * PostgreSQL server of this test's own, which is shut down immediately while Slack requests
 * arrive and started again seconds later. Nothing acknowledged may be lost: every request is
 * either stored and answered exactly once, or refused so that Slack retries it (events: non-2xx)
 * or the person sees it (slash commands: an ephemeral "try again").
 */

let cluster: PrivateCluster;
let slack: FakeSlack;
let llm: FakeLlm;
let bot: ServeProcess;
let sender: ReturnType<typeof createSlackSender>;
let databaseUrl: string;
let connector: FakeConnector;
const AAD = '9f8e7d6c-5b4a-4392-8170-6e5d4c3b2a19';

beforeAll(async () => {
  cluster = await startPrivateCluster();
  const url = await cluster.database('renderbot');
  databaseUrl = url;
  slack = await startFakeSlack();
  slack.addTeam(TEAM);
  slack.addUser({ id: 'U0ALICE001', teamId: TEAM.teamId, name: 'alice' });
  llm = await startFakeLlm({ provider: 'azure' });
  connector = await startFakeConnector();
  const env = {
    TEAMS_EMULATOR: '1',
    DATABASE_URL: url,
    SECRETS_KEY: randomBytes(32).toString('hex'),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-outage-')),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_BOT_TOKEN: TEAM.token,
  };
  const orm = await createOrm(url);
  await migrate(orm);
  await installQueue(url);
  const acme = await makeTenant(orm.em.fork(), 'acme');
  await linkWorkspace(orm.em.fork(), acme.tenant.id, 'slack', TEAM.teamId);
  await linkWorkspace(orm.em.fork(), acme.tenant.id, 'teams', AAD);
  await setTenantAi(orm.em.fork(), loadConfig(env).secretsKey, acme.tenant.id, llm.settings, llm.apiKey);
  await orm.close();
  bot = await startServe(env);
  sender = createSlackSender(bot.base, SIGNING_SECRET);
}, 120_000);

afterAll(async () => {
  await bot?.kill();
  await llm?.close();
  await connector?.close();
  await slack?.close();
  await cluster?.destroy();
});

/** The bot's messages in `channel` that carry the answer to `question` (text or blocks). */
const answersIn = (channel: string, question: string) =>
  slack.messages(channel).filter((m) => JSON.stringify([m.text, m.blocks]).includes(`answer to ${question}`));

/** Resolves once `check` holds, looking again whenever the fake Slack receives a call. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await slack.waitFor('chat.postMessage', undefined, { from: slack.calls.length, timeoutMs: 1000 }).catch(() => {});
  }
}

/** The bot's JSON log lines so far. */
const logLines = (since = 0) =>
  bot
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; time: number })
    .filter((l) => l.time >= since);

/** GET a probe endpoint; 0 when the request itself failed (the process would be gone). */
const probe = (path: string) =>
  fetch(`${bot.base}${path}`).then(
    (r) => r.status,
    () => 0,
  );

type Sent = {
  kind: 'command' | 'event';
  question: string;
  channel: string;
  request: SignedRequest;
  status: number;
  body: string;
  retries: number;
  at: number;
};

describe('database outage', () => {
  it('answers every acknowledged Slack request exactly once and refuses the rest visibly; readiness follows the database', async () => {
    llm.enqueue(...Array.from({ length: 400 }, () => echoStep(200)));
    const sent: Sent[] = [];
    const probes: { at: number; readyz: number; healthz: number }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const [readyz, healthz] = await Promise.all([probe('/readyz'), probe('/healthz')]);
        probes.push({ at: Date.now(), readyz, healthz });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const send = async (n: number) => {
      const question = `q-${n}`;
      const channel = `C0OUT${String(n).padStart(4, '0')}`;
      const who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel };
      const kind = n % 2 === 0 ? 'command' : 'event';
      const request =
        kind === 'command'
          ? sender.sign.command(slashCommand(who, question, slack.responseUrl()))
          : sender.sign.event(mentionEvent(who, question, { botUserId: TEAM.botUserId }));
      const at = Date.now();
      const res = await sender.send(request);
      sent.push({ kind, question, channel, request, status: res.status, body: await res.text(), retries: 0, at });
    };

    // 10 requests a second for 16 s; the database is down from 4 s to 12 s.
    const started = Date.now();
    let crashedAt = 0;
    let restartedAt = 0;
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 4000));
      await cluster.crash();
      crashedAt = Date.now();
      await new Promise((r) => setTimeout(r, 8000));
      await cluster.restart();
      restartedAt = Date.now();
    })();
    const inFlight: Promise<void>[] = [];
    for (let n = 0; n < 160; n++) {
      const due = started + n * 100;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      inFlight.push(send(n));
    }
    await Promise.all(inFlight);
    await outage;

    // Slack retries events it saw refused (non-2xx); here at once instead of after a minute.
    for (const s of sent.filter((x) => x.kind === 'event' && x.status >= 300)) {
      while (s.status >= 300 && s.retries < 3) {
        s.retries++;
        const retry = {
          ...s.request,
          headers: {
            ...s.request.headers,
            'x-slack-retry-num': String(s.retries),
            'x-slack-retry-reason': 'http_error',
          },
        };
        const res = await sender.send(retry);
        s.status = res.status;
        s.body = await res.text();
      }
    }

    const refused = (s: Sent) => s.kind === 'command' && /try again/i.test(s.body);
    const taken = sent.filter((s) => s.status === 200 && !refused(s));
    await until(
      () => taken.every((s) => answersIn(s.channel, s.question).length >= 1),
      90_000,
      'every taken request to be answered',
    );
    probing = false;
    await prober;
    llm.discardPending();

    // Nothing lost, nothing twice.
    for (const s of sent) {
      expect(s.status, `${s.kind} ${s.question}`).toBe(200);
      if (refused(s)) expect(answersIn(s.channel, s.question), `refused ${s.question}`).toHaveLength(0);
      else expect(answersIn(s.channel, s.question), `answers to ${s.question}`).toHaveLength(1);
    }
    expect(
      sent.some((s) => s.kind === 'event' && s.retries > 0) || sent.some(refused),
      'the outage refused something',
    ).toBe(true);
    // Taken both before the outage and after it (directly or as Slack's retry of a refused event); how many depends on how fast the cluster restarts.
    expect(taken.some((s) => s.at < crashedAt)).toBe(true);
    expect(taken.some((s) => s.retries > 0 || s.at > restartedAt)).toBe(true);

    // The process lived through it; readiness followed the database, liveness did not.
    expect(bot.child.exitCode).toBeNull();
    expect(probes.every((p) => p.healthz === 200)).toBe(true);
    expect(probes.some((p) => p.at > crashedAt + 1000 && p.at < restartedAt && p.readyz === 503)).toBe(true);
    const readyAgain = probes.find((p) => p.at > restartedAt && p.readyz === 200);
    expect(readyAgain, 'ready again').toBeDefined();
    expect(readyAgain!.at - restartedAt).toBeLessThan(10_000);

    // One line when the database was lost, one when it came back; nothing logged per request.
    const lines = logLines(started);
    expect(lines.filter((l) => l.msg.startsWith('database unreachable'))).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'database is back')).toHaveLength(1);
    expect(lines.filter((l) => l.level >= 40 && !l.msg.startsWith('database unreachable')).map((l) => l.msg)).toEqual(
      [],
    );
    expect(slack.failures).toEqual([]);
  }, 180_000);

  it('finishes turns that were waiting on the model when the database went away, once it is back, without asking the model again', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let arrived = 0;
    let allArrived!: () => void;
    const waiting = new Promise<void>((r) => {
      allArrived = r;
    });
    const held: FakeStep = async (req) => {
      if (++arrived === 50) allArrived();
      await released;
      return echoStep()(req);
    };
    llm.enqueue(...Array.from({ length: 50 }, () => held));
    const before = Date.now();
    const requestsBefore = llm.requests.length;
    const asked: { channel: string; question: string }[] = [];
    for (let n = 0; n < 50; n++) {
      const question = `w-${n}`;
      const channel = `C0WAIT${String(n).padStart(3, '0')}`;
      const res = await sender.event(
        mentionEvent({ teamId: TEAM.teamId, userId: 'U0ALICE001', channel }, question, { botUserId: TEAM.botUserId }),
      );
      expect(res.status).toBe(200);
      asked.push({ channel, question });
    }
    await waiting;
    await cluster.crash();
    // The model answers while the database is down; the answers can only be stored once it is back.
    release();
    await new Promise((r) => setTimeout(r, 8000));
    await cluster.restart();
    await until(
      () => asked.every((a) => answersIn(a.channel, a.question).length >= 1),
      60_000,
      'the 50 waiting turns to be answered',
    );
    for (const a of asked) expect(answersIn(a.channel, a.question), a.question).toHaveLength(1);
    expect(llm.requests.length - requestsBefore, 'the model was asked once per turn').toBe(50);
    const lines = logLines(before);
    expect(lines.filter((l) => l.msg.startsWith('database unreachable'))).toHaveLength(1);
    expect(lines.filter((l) => l.level >= 40 && !l.msg.startsWith('database unreachable')).map((l) => l.msg)).toEqual(
      [],
    );
    expect(bot.child.exitCode).toBeNull();
    expect(slack.failures).toEqual([]);
  }, 120_000);
});

/** A Teams personal-chat message for the fake connector, with its own conversation. */
function teamsMessage(text: string, n: number) {
  const a = JSON.parse(readFileSync('test/fixtures/teams/personal-message.json', 'utf8')) as Record<string, unknown> & {
    conversation: Record<string, unknown>;
    channelData: Record<string, unknown>;
  };
  Object.assign(a, { serviceUrl: connector.url, id: `1764200${String(n).padStart(6, '0')}`, text });
  a.conversation.id = `a:1outage${n}`;
  a.conversation.tenantId = AAD;
  a.channelData.tenant = { id: AAD };
  return a;
}
const postActivity = (a: unknown) =>
  fetch(`${bot.base}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(a),
  }).then((r) => r.status);

describe('database outage through Teams', () => {
  it('refuses an activity while the database is down (the Bot Framework redelivers it) and answers the redelivery once', async () => {
    llm.enqueue(echoStep());
    const a = teamsMessage('t-1', 1);
    await cluster.crash();
    try {
      expect(await postActivity(a)).toBeGreaterThanOrEqual(500);
    } finally {
      await cluster.restart();
    }
    // The Bot Framework redelivers a refused activity a few times, some time apart.
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      status = await postActivity(a);
      if (status !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    expect(status).toBe(200);
    const answers = await connector.waitFor(
      1,
      (c) => c.conversationId === 'a:1outage1' && JSON.stringify(c.activity).includes('answer to t-1'),
    );
    expect(await postActivity(a), 'a later redelivery').toBe(200);
    expect(answers).toHaveLength(1);
    expect(
      connector
        .messages()
        .filter((c) => c.conversationId === 'a:1outage1' && JSON.stringify(c.activity).includes('answer to t-1')),
    ).toHaveLength(1);
  }, 60_000);
});

describe('stored requests', () => {
  it('replays a request that was acknowledged but never handled (the process died after the acknowledgement)', async () => {
    llm.enqueue(echoStep());
    const channel = 'C0REPLAY01';
    const envelope = mentionEvent({ teamId: TEAM.teamId, userId: 'U0ALICE001', channel }, 'r-1', {
      botUserId: TEAM.botUserId,
    });
    // What a process leaves behind when it dies right after acknowledging: the stored copy, nothing else.
    const orm = await createOrm(databaseUrl);
    try {
      const pool = createIntakePool(databaseUrl);
      expect(await storeRequest(pool, 'slack', envelope.event_id, { body: envelope }, 0)).toBe(true);
      await pool.end();
      await until(() => answersIn(channel, 'r-1').length >= 1, 75_000, 'the replayed request to be answered');
      expect(answersIn(channel, 'r-1')).toHaveLength(1);
      const stored = await row(
        orm.em.fork(),
        z.object({ handled: z.boolean(), request: z.unknown() }),
        `select handled_at is not null as handled, request from inbound_event where platform = 'slack' and event_id = ?`,
        [envelope.event_id],
      );
      expect(stored).toMatchObject({ handled: true, request: null });
      // Slack's own retry of it, much later, finds it handled.
      expect((await sender.event(envelope, { retryNum: 1, retryReason: 'http_timeout' })).status).toBe(200);
      expect(answersIn(channel, 'r-1')).toHaveLength(1);
    } finally {
      await orm.close();
    }
  }, 90_000);

  it('acknowledges a replayed slash command without posting anything again, and stores no verification token', async () => {
    llm.enqueue(echoStep());
    const channel = 'C0REPLAY02';
    const command = slashCommand({ teamId: TEAM.teamId, userId: 'U0ALICE001', channel }, 'r-2', slack.responseUrl());
    const signed = sender.sign.command({ ...command, token: 'verification-token-fake' });
    expect((await sender.send(signed)).status).toBe(200);
    await until(() => answersIn(channel, 'r-2').length >= 1, 30_000, 'the slash command to be answered');
    const posted = slack.callsOf('chat.postMessage', (c) => c.body.channel === channel).length;
    // The same signed request again, within Slack's five-minute window: acknowledged, nothing posted.
    const replay = await sender.send(signed);
    expect(replay.status).toBe(200);
    expect(await replay.text()).toBe('');
    const orm = await createOrm(databaseUrl);
    try {
      const stored = await countOf(
        orm.em.fork(),
        `select count(*)::int as n from inbound_event where request::text like '%verification-token-fake%'`,
      );
      expect(stored).toBe(0);
    } finally {
      await orm.close();
    }
    expect(slack.callsOf('chat.postMessage', (c) => c.body.channel === channel)).toHaveLength(posted);
    expect(answersIn(channel, 'r-2')).toHaveLength(1);
  });
});
