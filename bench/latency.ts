/**
 * `npm run bench:latency`: turns at the speed of the model (issue 11). The scripted model thinks
 * BENCH_MODEL_MS (default 3000) per call. Open loop at BENCH_RATE (default 50) messages/s for
 * BENCH_SECONDS (default 15) — about rate × model time turns waiting on the model at once — per
 * platform, against RenderBot as `renderbot serve` runs it (default settings) and, in the same
 * run, a reference bot that asks the same model with the `openai` client and posts the answer:
 * - Slack: `/render <free text>` vs a Chat SDK bot (chat + @chat-adapter/slack, memory state);
 * - Teams: channel @mentions vs a botbuilder ActivityHandler bot;
 * - web: `POST /api/chat/messages` vs a plain HTTP endpoint.
 * Prints reply p50/p99, ack (HTTP response) p99, lost and duplicated answers, and the targets:
 * reply p99 ≤ 1.25 × the reference's, nothing lost or duplicated, ack p99 < 500 ms.
 * BENCH_PLATFORMS=slack,teams,web picks platforms; BENCH_BOTS=renderbot|reference picks bots.
 * Database: a fresh one on DATABASE_URL's server, else an embedded PostgreSQL; dropped afterwards.
 * Prints numbers; asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeConnector, type ConnectorCall } from '../test/fakes/bot-connector.ts';
import { startFakeSlack, type SlackCall } from '../test/fakes/slack-api.ts';
import { createSlackSender, slashCommand, type Who } from '../test/fakes/slack-request.ts';
import { startTarget, type Target } from './support/child.ts';
import { createBenchDatabase, setUpBenchTenant } from './support/db.ts';
import { makeTag, startSlowLlm, tagOf } from './support/llm.ts';
import {
  benchSettings,
  botColumns,
  latencyColumns,
  ms,
  observePush,
  outcomeColumns,
  printTable,
  type Sample,
  type Summary,
} from './support/load.ts';
import { measureBot, warmUp, WARMUP } from './support/measure.ts';
import { SIGNING_SECRET, TEAM } from './support/slack-workspace.ts';

const WHO: Who = { teamId: TEAM.teamId, userId: 'U0BENCHUSR', channel: 'C0BENCH001' };
type Activity = Record<string, unknown> & {
  conversation: Record<string, unknown>;
  channelData: { tenant: { id: string } };
};
const FIXTURE = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'teams', 'channel-mention.json'), 'utf8'),
) as Activity;
const AAD = FIXTURE.channelData.tenant.id;
const THREAD = String(FIXTURE.conversation.id).split(';')[0]!;

const { rate, seconds, drainSeconds, count } = benchSettings({ BENCH_RATE: '50', BENCH_SECONDS: '15', ...process.env });
const modelMs = Number(process.env.BENCH_MODEL_MS ?? 3000);
const platforms = (process.env.BENCH_PLATFORMS ?? 'slack,teams,web').split(',').map((p) => p.trim());
const onlyBots = process.env.BENCH_BOTS?.split(',').map((b) => b.trim());
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `bench:latency: model ${modelMs} ms per call; ${rate} messages/s for ${seconds} s (${count} per bot) on ${platforms.join(', ')}; load average ${load()}`,
);

const slack = await startFakeSlack();
slack.addTeam(TEAM);
slack.addUser({ id: WHO.userId, teamId: TEAM.teamId, name: 'bench', real_name: 'Bench User' });
const connector = await startFakeConnector();
const llm = await startSlowLlm((count + WARMUP + 50) * platforms.length * 2, modelMs);
const db = await createBenchDatabase(process.env.DATABASE_URL);
const secretsKey = randomBytes(32);
const dataDir = mkdtempSync(join(tmpdir(), 'renderbot-bench-'));

try {
  const { token } = await setUpBenchTenant(db.url, secretsKey, llm, [
    ['slack', TEAM.teamId],
    ['teams', AAD.toLowerCase()],
  ]);
  const settings = llm.settings as { baseUrl: string; model: string };
  const env = {
    DATABASE_URL: db.url,
    SECRETS_KEY: secretsKey.toString('hex'),
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: TEAM.token,
    SLACK_API_URL: slack.apiUrl,
    TEAMS_EMULATOR: '1',
    WEB_RATE_LIMIT_PER_MINUTE: '1000000',
    LLM_BASE_URL: settings.baseUrl,
    LLM_API_KEY: llm.apiKey,
    LLM_MODEL: settings.model,
  };

  /** Which samples the fakes' calls belong to: Slack by tag, Teams by conversation id. */
  let slackSamples: Map<string, Sample> | undefined;
  observePush(slack.calls, (call: SlackCall, at) => {
    if (!slackSamples || (call.method !== 'chat.postMessage' && call.method !== 'chat.update')) return;
    const text = String(call.body.text ?? '');
    const sample = slackSamples.get(tagOf(text) ?? '');
    if (!sample || !text.startsWith('ok tag')) return;
    sample.replies++;
    sample.replyAt ??= at;
  });
  let teamsSamples: Map<string, Sample> | undefined;
  observePush(connector.calls, (call: ConnectorCall, at) => {
    if (!teamsSamples || (call.kind !== 'send' && call.kind !== 'reply')) return;
    const sample = teamsSamples.get(call.conversationId);
    if (!sample || call.activity.type === 'typing') return;
    sample.replies++;
    sample.replyAt ??= at;
  });

  type Sender = (tag: string, sample: Sample) => Promise<number>;
  const senders: Record<string, (target: Target) => Sender> = {
    slack: (target) => {
      const send = createSlackSender(target.base, SIGNING_SECRET);
      return async (tag, sample) => {
        slackSamples!.set(tag, sample);
        const res = await send.command(
          slashCommand(WHO, `how are the renders of this week doing ${tag}`, slack.responseUrl()),
        );
        await res.arrayBuffer();
        return res.status;
      };
    },
    teams: (target) => async (tag, sample) => {
      const id = `1764${randomBytes(5).readUIntBE(0, 5).toString().padStart(13, '0')}`;
      const a = structuredClone(FIXTURE);
      Object.assign(a, {
        id,
        serviceUrl: connector.url,
        timestamp: new Date().toISOString(),
        text: `<at>RenderBot</at> how are the renders doing ${tag}`,
      });
      a.conversation.id = `${THREAD};messageid=${id}`;
      delete a.attachments;
      teamsSamples!.set(String(a.conversation.id), sample);
      const res = await fetch(`${target.base}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(a),
      });
      await res.arrayBuffer();
      return res.status;
    },
    web: (target) => async (tag, sample) => {
      const res = await fetch(`${target.base}/api/chat/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ message: `how are the renders doing ${tag}` }),
      });
      const body = (await res.json().catch(() => ({}))) as { response?: { content?: string } };
      // The web API answers in the HTTP response: the reply is the response.
      if (tagOf(body.response?.content ?? '') === tag) {
        sample.replies++;
        sample.replyAt = performance.now();
      }
      return res.status;
    },
  };
  const references: Record<string, { kind: string; name: string }> = {
    slack: { kind: 'chatsdk', name: 'Chat SDK bot asking the model' },
    teams: { kind: 'botbuilder', name: 'botbuilder bot asking the model' },
    web: { kind: 'web', name: 'HTTP endpoint asking the model' },
  };

  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  for (const platform of platforms) {
    if (!senders[platform]) throw new Error(`BENCH_PLATFORMS: unknown platform "${platform}" (slack | teams | web)`);
    const bots = [
      { ...references[platform]!, role: 'reference', letter: 'A' },
      { kind: 'renderbot', name: `RenderBot (${platform})`, role: 'renderbot', letter: 'R' },
    ].filter((b) => !onlyBots?.length || onlyBots.includes(b.role));
    const results: Summary[] = [];
    for (const bot of bots) {
      const target = await startTarget(
        bot.name,
        join(import.meta.dirname, 'support', 'latency-targets.ts'),
        bot.kind,
        env,
      );
      try {
        const sender = senders[platform]!(target);
        slackSamples = new Map();
        teamsSamples = new Map();
        await warmUp((i, sample) => sender(makeTag('W', i), sample).catch(() => 0));
        slackSamples = new Map();
        teamsSamples = new Map();
        results.push(
          await measureBot({
            bot,
            pid: target.pid,
            load: { rate, count, seconds, drainSeconds },
            dbUrl: db.url,
            answered: 'answered',
            send: (i, sample) => sender(makeTag(bot.letter, i), sample).catch(() => 0),
            stop: () => {
              slackSamples = undefined;
              teamsSamples = undefined;
            },
          }),
        );
      } finally {
        await target.stop();
      }
    }
    console.log(`\n${platform} (load average ${load()}):`);
    printTable(results, [
      ...botColumns,
      ...latencyColumns('reply', (s) => s.reply, ['p50', 'p99', 'max']),
      ...latencyColumns('ack', (s) => s.http, ['p50', 'p99']),
      ...outcomeColumns,
    ]);
    const [reference, renderBot] = [
      results[bots.findIndex((b) => b.role === 'reference')],
      results[bots.findIndex((b) => b.role === 'renderbot')],
    ];
    if (reference && renderBot) {
      console.log(
        `target reply p99 ≤ 1.25 × reference's: ${ms(renderBot.reply.p99)} vs ${ms(1.25 * reference.reply.p99)} → ${verdict(renderBot.reply.p99 <= 1.25 * reference.reply.p99)}`,
      );
      console.log(
        `target nothing lost or duplicated: lost ${renderBot.lost}, duplicated ${renderBot.duplicated} → ${verdict(renderBot.lost === 0 && renderBot.duplicated === 0)}`,
      );
      // The web API answers in its HTTP response, so there the "ack" is the reply.
      if (platform !== 'web')
        console.log(`target ack p99 < 500 ms: ${ms(renderBot.http.p99)} → ${verdict(renderBot.http.p99 < 500)}`);
    }
  }
  const problems = [...slack.failures, ...llm.failures];
  if (problems.length)
    console.log(`fake problems (${problems.length}): ${[...new Set(problems)].slice(0, 5).join('; ')}`);
} finally {
  await llm.close();
  await connector.close();
  await slack.close();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
