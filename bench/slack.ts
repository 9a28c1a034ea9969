/**
 * `npm run bench:slack`: signed `/render <free text>` slash commands, open loop at BENCH_RATE/s
 * (default 200) for BENCH_SECONDS (default 30), against four bots, one after the other, each in
 * a child process of its own: a bare Bolt app (ack + say), the same storing each command in
 * PostgreSQL before its ack (the anchor for RenderBot's stored-first ack), a Chat SDK echo bot (chat +
 * @chat-adapter/slack + memory state) and RenderBot as `renderbot serve` runs it (every command a
 * full agent turn through the durable queue, the scripted LLM fake answering instantly). Prints
 * p50/p99 time-to-ack (the slash command's HTTP response) and time-to-reply (the fake Slack Web
 * API receiving the answer, matched by a tag in the text), lost and duplicated replies, and the
 * targets: ack p99 ≤ 1.5 × bare Bolt's, every reply within 2 s, nothing lost or duplicated; and
 * each bot process's CPU ms per request and RenderBot's SQL statements per answered request (its
 * renderbot_db_statements_total on /metrics, by pool; polls and lease renewals included).
 * Database: a fresh one on DATABASE_URL's server, else an embedded PostgreSQL in a temporary
 * directory; dropped afterwards. Prints numbers; asserts nothing.
 *
 * Diagnostics: BENCH_BOTS=renderbot,… (a subset of the bots), BENCH_LOG_LEVEL (the bots' LOG_LEVEL,
 * default error), BENCH_DUMP=/tmp/x (per-request timings as /tmp/x.<bot>.json),
 * BENCH_CHILD_NODE_OPTIONS (e.g. --cpu-prof for the bots). RenderBot runs with its default settings.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeSlack, streamedText, type SlackCall } from '../test/fakes/slack-api.ts';
import { createSlackSender, slashCommand, type Who } from '../test/fakes/slack-request.ts';
import { createBenchDatabase, setUpBenchTenant } from './support/db.ts';
import { measureBot, selectedBots, warmUp, WARMUP } from './support/measure.ts';
import { startTarget, type Target } from './support/child.ts';
import { makeTag, startInstantLlm, tagOf } from './support/llm.ts';
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
import { SIGNING_SECRET, TEAM } from './support/slack-workspace.ts';

const WHO: Who = { teamId: TEAM.teamId, userId: 'U0BENCHUSR', channel: 'C0BENCH001' };

const { rate, seconds, drainSeconds, count } = benchSettings();
console.log(
  `bench:slack: ${rate} slash commands/s for ${seconds} s (${count} per bot), open loop; drain ≤ ${drainSeconds} s; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

const slack = await startFakeSlack();
slack.addTeam(TEAM);
slack.addUser({ id: WHO.userId, teamId: TEAM.teamId, name: 'bench', real_name: 'Bench User' });
const llm = await startInstantLlm(count + WARMUP + 100);
const db = await createBenchDatabase(process.env.DATABASE_URL);
const secretsKey = randomBytes(32);
const dataDir = mkdtempSync(join(tmpdir(), 'renderbot-bench-'));

try {
  await setUpBenchTenant(db.url, secretsKey, llm, [['slack', TEAM.teamId]]);

  /**
   * The reply of each bot: its echo, or RenderBot's answer in the thread (its thread root carries
   * the tag too, without thread_ts) — posted, streamed, or edited into a message it posted
   * before. A sample counts the distinct messages that carried its answer (more than one is a
   * duplicate); a streamed message is matched by all the text streamed into it so far.
   */
  const streamed = new Map<string, string>();
  const messageText = (call: SlackCall): { ts: string; text: string } | undefined => {
    const ts = String(call.body.ts ?? call.response?.ts ?? '');
    if (call.method === 'chat.postMessage' || call.method === 'chat.update')
      return { ts, text: String(call.body.text ?? '') };
    if (call.method === 'response_url') return { ts: call.path, text: String(call.body.text ?? '') };
    if (!call.method.endsWith('Stream') || call.response?.ok !== true) return undefined;
    const text = (call.method === 'chat.startStream' ? '' : (streamed.get(ts) ?? '')) + streamedText(call);
    streamed.set(ts, text);
    return { ts, text };
  };
  type Phase = { samples: Map<string, Sample>; isReply(c: SlackCall): boolean };
  let phase: Phase | undefined;
  const answeredIn = new Map<Sample, Set<string>>();
  observePush(slack.calls, (call, at) => {
    const message = phase ? messageText(call) : undefined;
    const tag = message ? tagOf(message.text) : undefined;
    const sample = tag ? phase!.samples.get(tag) : undefined;
    if (!sample || !message) return;
    sample.firstAt ??= at;
    if (!phase!.isReply(call)) return;
    const seen = answeredIn.get(sample) ?? new Set<string>();
    answeredIn.set(sample, seen.add(message.ts));
    sample.replies = seen.size;
    sample.replyAt ??= at;
  });

  const env = {
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: TEAM.token,
    SLACK_API_URL: slack.apiUrl,
    DATABASE_URL: db.url,
    SECRETS_KEY: secretsKey.toString('hex'),
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
    // BENCH_WORKER_PROCESSES=n: RenderBot as `renderbot serve --no-worker` plus n `renderbot worker` processes.
    BENCH_WORKER_PROCESSES: process.env.BENCH_WORKER_PROCESSES ?? '0',
  };
  const echoed = (c: SlackCall) => c.method === 'chat.postMessage' && String(c.body.text ?? '').startsWith('echo ');
  const bots: { name: string; kind: string; letter: string; isReply(c: SlackCall): boolean }[] = [
    { name: 'bare Bolt (ack+say)', kind: 'bolt', letter: 'B', isReply: echoed },
    { name: 'Bolt, stored first', kind: 'boltstore', letter: 'S', isReply: echoed },
    { name: 'Chat SDK echo', kind: 'chatsdk', letter: 'C', isReply: echoed },
    {
      name: 'RenderBot (agent turn)',
      kind: 'renderbot',
      letter: 'R',
      isReply: (c) => c.method !== 'chat.postMessage' || c.body.thread_ts !== undefined,
    },
  ];
  const chosen = selectedBots(bots);
  const results: Summary[] = [];
  for (const bot of chosen) {
    const target: Target = await startTarget(
      bot.name,
      join(import.meta.dirname, 'support', 'slack-targets.ts'),
      bot.kind,
      env,
    );
    try {
      const send = createSlackSender(target.base, SIGNING_SECRET);
      const fire = async (tag: string) => {
        const res = await send.command(
          slashCommand(WHO, `how are the renders of this week doing ${tag}`, slack.responseUrl()),
        );
        await res.arrayBuffer();
        return res.status;
      };
      // Warm-up caches: auth.test, users.info.
      const warming: Phase = { samples: new Map(), isReply: bot.isReply };
      phase = warming;
      await warmUp((i, sample) => {
        const tag = makeTag('W', i);
        warming.samples.set(tag, sample);
        return fire(tag).catch(() => 0);
      });

      phase = { samples: new Map(), isReply: bot.isReply };
      const current = phase;
      results.push(
        await measureBot({
          bot,
          pid: target.pid,
          base: target.base,
          load: { rate, count, seconds, drainSeconds },
          dbUrl: db.url,
          answered: 'replied',
          send: (i, sample) => {
            const tag = makeTag(bot.letter, i);
            current.samples.set(tag, sample);
            return fire(tag).catch(() => 0);
          },
          stop: () => {
            phase = undefined;
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
    ...latencyColumns('ack', (s) => s.http, ['p50', 'p99', 'max']),
    ...latencyColumns('reply', (s) => s.reply, ['p50', 'p99', 'max']),
    ...outcomeColumns,
  ]);
  const byName = (kind: string) => results[chosen.findIndex((b) => b.kind === kind)];
  const [bolt, storingBolt, renderBot] = [byName('bolt'), byName('boltstore'), byName('renderbot')];
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log(
    `\nload average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; the echo bots' reply times are for scale, not a target`,
  );
  if (renderBot) {
    // Issue 11: the bot keeps up with an instant model — every reply within 2 s, nothing lost.
    console.log(
      `target every reply within 2 s: reply max ${ms(renderBot.reply.max)} → ${verdict(renderBot.lost === 0 && renderBot.reply.max <= 2000)}`,
    );
    console.log(
      `target nothing lost or duplicated: lost ${renderBot.lost}, duplicated ${renderBot.duplicated}, HTTP errors ${renderBot.httpErrors} → ${verdict(renderBot.lost === 0 && renderBot.duplicated === 0 && renderBot.httpErrors === 0)}`,
    );
  }
  if (bolt && renderBot)
    console.log(
      `target ack p99 ≤ 1.5 × bare Bolt's: ${ms(renderBot.http.p99)} vs ${ms(1.5 * bolt.http.p99)} → ${verdict(renderBot.http.p99 <= 1.5 * bolt.http.p99)}`,
    );
  // The same ack against a Bolt that also stores each request first (one insert before ack): RenderBot's ack
  // waits for that insert on a PostgreSQL busy with its turns, which bare Bolt never waits for.
  if (storingBolt && renderBot)
    console.log(
      `for scale, ack p99 against Bolt storing first: ${ms(renderBot.http.p99)} vs 1.5 × ${ms(storingBolt.http.p99)} = ${ms(1.5 * storingBolt.http.p99)}`,
    );
  const problems = [...slack.failures, ...llm.failures];
  if (problems.length)
    console.log(`fake problems (${problems.length}): ${[...new Set(problems)].slice(0, 5).join('; ')}`);
} finally {
  await llm.close();
  await slack.close();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
