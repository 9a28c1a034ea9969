/**
 * `npm run bench:teams`: Teams channel @mentions with free text, open loop at BENCH_RATE/s
 * (default 200) for BENCH_SECONDS (default 30), posted to `POST /api/messages` in Bot Framework
 * Emulator mode (no MicrosoftAppId: no auth), against two bots, one after the other, each in a
 * child process of its own: the Bot Framework samples' echo bot (CloudAdapter + ActivityHandler,
 * one synchronous `sendActivity`, restify) and RenderBot as `renderbot serve` runs it (every
 * mention a full agent turn through the durable queue, replies sent proactively; the scripted LLM
 * fake answers instantly). Every activity opens its own channel thread; its `serviceUrl` is a fake
 * Bot Connector that records replies. Prints p50/p99 time-to-HTTP-response, time to the first
 * activity at the connector (RenderBot: its typing indicator) and to the answer, lost and
 * duplicated answers, and the targets of the Teams issue. Database: a fresh one on DATABASE_URL's
 * server, else an embedded PostgreSQL in a temporary directory; dropped afterwards. Prints
 * numbers; asserts nothing.
 *
 * Diagnostics: BENCH_BOTS=renderbot,… (a subset of the bots), BENCH_LOG_LEVEL (the bots' LOG_LEVEL,
 * default error), BENCH_DUMP=/tmp/x (per-request timings as /tmp/x.<bot>.json),
 * BENCH_CHILD_NODE_OPTIONS (e.g. --cpu-prof for the bots). RenderBot runs with its default settings.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeConnector, type ConnectorCall } from '../test/fakes/bot-connector.ts';
import { createBenchDatabase, setUpBenchTenant } from './support/db.ts';
import { measureBot, selectedBots, warmUp, WARMUP } from './support/measure.ts';
import { startTarget, type Target } from './support/child.ts';
import { makeTag, startInstantLlm } from './support/llm.ts';
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

type Activity = Record<string, unknown> & {
  conversation: Record<string, unknown>;
  channelData: { tenant: { id: string } };
};
const FIXTURE = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'teams', 'channel-mention.json'), 'utf8'),
) as Activity;
const AAD = FIXTURE.channelData.tenant.id;
const THREAD = String(FIXTURE.conversation.id).split(';')[0]!;

const { rate, seconds, drainSeconds, count } = benchSettings();
console.log(
  `bench:teams: ${rate} activities/s for ${seconds} s (${count} per bot), open loop; drain ≤ ${drainSeconds} s; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

const connector = await startFakeConnector();
const llm = await startInstantLlm(count + WARMUP + 100);
const db = await createBenchDatabase(process.env.DATABASE_URL);
const secretsKey = randomBytes(32);
const dataDir = mkdtempSync(join(tmpdir(), 'renderbot-bench-'));

/** A channel @mention in a thread of its own (conversation id `…;messageid=<id>`), pointed at the fake connector. */
function mention(id: string, text: string): Activity {
  const a = structuredClone(FIXTURE);
  a.id = id;
  a.serviceUrl = connector.url;
  a.timestamp = new Date().toISOString();
  a.text = `<at>RenderBot</at> ${text}`;
  a.conversation.id = `${THREAD};messageid=${id}`;
  delete a.attachments;
  return a;
}

try {
  await setUpBenchTenant(db.url, secretsKey, llm, [['teams', AAD.toLowerCase()]]);

  /** Samples by conversation id (one thread per request). */
  let samples: Map<string, Sample> | undefined;
  observePush(connector.calls, (call: ConnectorCall, at) => {
    if (!samples || (call.kind !== 'send' && call.kind !== 'reply')) return;
    const sample = samples.get(call.conversationId);
    if (!sample) return;
    sample.firstAt ??= at;
    if (call.activity.type === 'typing') return;
    sample.replies++;
    sample.replyAt ??= at;
  });

  const env = {
    DATABASE_URL: db.url,
    SECRETS_KEY: secretsKey.toString('hex'),
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
    TEAMS_EMULATOR: '1',
    // BENCH_WORKER_PROCESSES=n: RenderBot as `renderbot serve --no-worker` plus n `renderbot worker` processes.
    BENCH_WORKER_PROCESSES: process.env.BENCH_WORKER_PROCESSES ?? '0',
  };
  const bots = [
    { name: 'botbuilder echo', kind: 'echo', letter: 'E' },
    { name: 'RenderBot (agent turn)', kind: 'renderbot', letter: 'R' },
  ];
  const chosen = selectedBots(bots);
  const results: Summary[] = [];
  for (const bot of chosen) {
    const target: Target = await startTarget(
      bot.name,
      join(import.meta.dirname, 'support', 'teams-targets.ts'),
      bot.kind,
      env,
    );
    try {
      const post = async (tag: string, sample: Sample, map: Map<string, Sample>) => {
        const id = `1764${randomBytes(5).readUIntBE(0, 5).toString().padStart(13, '0')}`;
        const activity = mention(id, `how are the renders of this week doing ${tag}`);
        map.set(String(activity.conversation.id), sample);
        const res = await fetch(`${target.base}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(activity),
        });
        await res.arrayBuffer();
        return res.status;
      };
      // Warm-up caches: roster lookups.
      const warming = new Map<string, Sample>();
      samples = warming;
      await warmUp((i, sample) => post(makeTag('W', i), sample, warming).catch(() => 0));

      samples = new Map();
      const current = samples;
      results.push(
        await measureBot({
          bot,
          pid: target.pid,
          load: { rate, count, seconds, drainSeconds },
          dbUrl: db.url,
          answered: 'answered',
          send: (i, sample) => post(makeTag(bot.letter, i), sample, current).catch(() => 0),
          stop: () => {
            samples = undefined;
          },
        }),
      );
    } finally {
      await target.stop();
    }
  }

  console.log('');
  printTable(results, [
    ...botColumns,
    ...latencyColumns('http', (s) => s.http, ['p50', 'p99', 'max']),
    ...latencyColumns('1st activity', (s) => s.first, ['p50', 'p99']),
    ...latencyColumns('answer', (s) => s.reply, ['p50', 'p99', 'max']),
    ...outcomeColumns,
  ]);
  const echo = results[chosen.findIndex((b) => b.kind === 'echo')];
  const renderBot = results[chosen.findIndex((b) => b.kind === 'renderbot')];
  if (echo && renderBot) {
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    console.log('');
    console.log(
      `target HTTP p99 ≤ 1.5 × echo's: ${ms(renderBot.http.p99)} vs ${ms(1.5 * echo.http.p99)} → ${verdict(renderBot.http.p99 <= 1.5 * echo.http.p99)}`,
    );
    console.log(
      `target first-reply (answer) p99 ≤ 2 × echo's: ${ms(renderBot.reply.p99)} vs ${ms(2 * echo.reply.p99)} → ${verdict(renderBot.lost === 0 && renderBot.reply.p99 <= 2 * echo.reply.p99)}`,
    );
    console.log(
      `  (counting RenderBot's typing indicator as its first reply: ${ms(renderBot.first.p99)} → ${verdict(renderBot.first.p99 <= 2 * echo.reply.p99)})`,
    );
    console.log(
      `target zero lost/duplicated answers: lost ${renderBot.lost}, duplicated ${renderBot.duplicated}, HTTP errors ${renderBot.httpErrors} → ${verdict(renderBot.lost === 0 && renderBot.duplicated === 0)}`,
    );
  } else {
    console.log('targets: not evaluated (BENCH_BOTS left out a bot)');
  }
  if (llm.failures.length)
    console.log(`fake LLM problems (${llm.failures.length}): ${[...new Set(llm.failures)].slice(0, 5).join('; ')}`);
} finally {
  await llm.close();
  await connector.close();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
