/**
 * `npm run bench:faults`: what production does to the bot, measured. `renderbot serve` runs as a
 * child process on a PostgreSQL server of its own (embedded PostgreSQL 18), with the fake Slack
 * and a scripted model answering in BENCH_MODEL_MS (default 200).
 *
 * 1. Database outage: BENCH_RATE (default 10) signed Slack requests a second (slash commands and
 *    mentions, alternating) for BENCH_SECONDS (default 20); the database is shut down immediately
 *    BENCH_OUTAGE_AT seconds in (default 6) and started again BENCH_OUTAGE_SECONDS later (default
 *    8). Mentions refused with a non-2xx are sent again once it is back, as Slack retries them.
 *    Prints acknowledged / refused / answered / lost / duplicated, the time from the database's
 *    return to /readyz 200 and to the last answer.
 * 2. Rate-limit storm: BENCH_STORM (default 60) mentions in threads of one channel whose writes
 *    Slack limits to 2 a second (429, Retry-After: 1), while 20 mentions go to another channel.
 *    Prints how long the storm's answers took, lost / duplicated, and the other channel's reply
 *    p50/p99 against the same 20 mentions sent with no storm.
 *
 * Prints numbers; asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../core/config.ts';
import { createOrm, migrate } from '../core/db/orm.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { installQueue } from '../core/queue/queue.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { linkWorkspace } from '../core/tenancy/links.ts';
import { echoStep, startFakeLlm } from '../test/fakes/llm-server.ts';
import { startFakeSlack } from '../test/fakes/slack-api.ts';
import { createSlackSender, mentionEvent, slashCommand, type SignedRequest } from '../test/fakes/slack-request.ts';
import { startPrivateCluster } from '../test/support/private-cluster.ts';
import { startServe } from '../test/support/serve.ts';
import { ms, percentile } from './support/load.ts';
import { SIGNING_SECRET, TEAM } from './support/slack-workspace.ts';

const num = (name: string, fallback: number) => {
  const v = process.env[name] ? Number(process.env[name]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const rate = num('BENCH_RATE', 10);
const seconds = num('BENCH_SECONDS', 20);
const outageAt = num('BENCH_OUTAGE_AT', 6);
const outageSeconds = num('BENCH_OUTAGE_SECONDS', 8);
const modelMs = num('BENCH_MODEL_MS', 200);
const storm = num('BENCH_STORM', 60);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const USER = 'U0BENCHUSR';
const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

console.log(`bench:faults: model ${modelMs} ms/call; load average ${load()}`);
const cluster = await startPrivateCluster();
const slack = await startFakeSlack();
slack.addTeam(TEAM);
slack.addUser({ id: USER, teamId: TEAM.teamId, name: 'bench' });
const llm = await startFakeLlm({ provider: 'azure' });
const echo = echoStep(modelMs);
llm.enqueue(...Array.from({ length: Math.ceil(rate * seconds) * 2 + storm + 200 }, () => echo));

const url = await cluster.database('renderbot');
const env = {
  DATABASE_URL: url,
  SECRETS_KEY: randomBytes(32).toString('hex'),
  DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-bench-faults-')),
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: slack.apiUrl,
  SLACK_BOT_TOKEN: TEAM.token,
  LOG_LEVEL: 'warn',
};
const orm = await createOrm(url);
await migrate(orm);
await installQueue(url);
const tenant = await createTenant(orm.em.fork(), { slug: 'bench', name: 'Bench GmbH' });
await linkWorkspace(orm.em.fork(), tenant.id, 'slack', TEAM.teamId);
await setTenantAi(orm.em.fork(), loadConfig(env).secretsKey, tenant.id, llm.settings, llm.apiKey);
await orm.close();
const bot = await startServe(env);
const sender = createSlackSender(bot.base, SIGNING_SECRET);

/** How many of the bot's messages in `channel` carry the answer to `question` (questions end in a letter, so one is never a prefix of another). */
const answers = (channel: string, question: string) =>
  slack.messages(channel).filter((m) => JSON.stringify([m.text, m.blocks]).includes(`answer to ${question}`)).length;
const waitUntil = async (done: () => boolean, maxMs: number) => {
  const deadline = Date.now() + maxMs;
  while (!done() && Date.now() < deadline)
    await slack.waitFor('chat.postMessage', undefined, { from: slack.calls.length, timeoutMs: 500 }).catch(() => {});
};

try {
  // 1. Database outage.
  type Sent = {
    kind: 'command' | 'event';
    question: string;
    channel: string;
    request: SignedRequest;
    status: number;
    body: string;
  };
  const sent: Sent[] = [];
  let readyAgainAt = 0;
  let restartedAt = 0;
  const outage = (async () => {
    await sleep(outageAt * 1000);
    await cluster.crash();
    await sleep(outageSeconds * 1000);
    await cluster.restart();
    restartedAt = Date.now();
    while (!readyAgainAt) {
      if (
        (await fetch(`${bot.base}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) === 200
      )
        readyAgainAt = Date.now();
      else await sleep(100);
    }
  })();
  const start = Date.now();
  const inflight: Promise<void>[] = [];
  for (let n = 0; n < rate * seconds; n++) {
    const due = start + (n * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const question = `q-${n}`;
    const channel = `C0FLT${String(n).padStart(5, '0')}`;
    const kind = n % 2 === 0 ? ('command' as const) : ('event' as const);
    const request =
      kind === 'command'
        ? sender.sign.command(
            slashCommand({ teamId: TEAM.teamId, userId: USER, channel }, question, slack.responseUrl()),
          )
        : sender.sign.event(
            mentionEvent({ teamId: TEAM.teamId, userId: USER, channel }, question, { botUserId: TEAM.botUserId }),
          );
    inflight.push(
      sender.send(request).then(
        async (r) => {
          sent.push({ kind, question, channel, request, status: r.status, body: await r.text() });
        },
        () => {
          sent.push({ kind, question, channel, request, status: 0, body: '' });
        },
      ),
    );
  }
  await Promise.all(inflight);
  await outage;
  const refusedEvents = sent.filter((s) => s.kind === 'event' && s.status !== 200);
  for (const s of refusedEvents) {
    const retry = {
      ...s.request,
      headers: { ...s.request.headers, 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_error' },
    };
    s.status = await sender.send(retry).then(
      (r) => r.status,
      () => 0,
    );
  }
  const refusedCommands = sent.filter((s) => s.kind === 'command' && /try again/i.test(s.body));
  const taken = sent.filter((s) => s.status === 200 && !refusedCommands.includes(s));
  await waitUntil(() => taken.every((s) => answers(s.channel, s.question) >= 1), 120_000);
  const lastAnswerAt = Date.now();
  const lost = taken.filter((s) => answers(s.channel, s.question) === 0).length;
  const duplicated = taken.filter((s) => answers(s.channel, s.question) > 1).length;
  console.log(
    `\n1. database outage (${outageSeconds} s, immediate shutdown ${outageAt} s into ${rate}/s × ${seconds} s; load average ${load()})`,
  );
  console.log(
    `   requests ${sent.length}: acknowledged and answered ${taken.length - lost}, lost ${lost}, duplicated ${duplicated}`,
  );
  console.log(
    `   refused while the database was down: ${refusedEvents.length} events (503; answered after Slack's retry), ${refusedCommands.length} slash commands (ephemeral "try again")`,
  );
  console.log(
    `   /readyz 200 again ${ms(readyAgainAt - restartedAt)} after the database was back; every answer out ${ms(lastAnswerAt - restartedAt)} after it (target: readyz ≤ 10 s, nothing lost)`,
  );

  // 2. Rate-limit storm in one channel, another channel alongside.
  const mention = async (channel: string, question: string, threadTs?: string) => {
    const event = mentionEvent({ teamId: TEAM.teamId, userId: USER, channel }, question, {
      botUserId: TEAM.botUserId,
      ...(threadTs ? { threadTs } : {}),
    });
    const at = Date.now();
    await sender.event(event);
    return { channel, question, at };
  };
  const replyTimes = async (asked: { channel: string; question: string; at: number }[]) => {
    const times = new Map<string, number>();
    await waitUntil(() => {
      for (const a of asked)
        if (!times.has(a.question) && answers(a.channel, a.question) > 0) times.set(a.question, Date.now() - a.at);
      return times.size === asked.length;
    }, 180_000);
    return asked.map((a) => times.get(a.question) ?? NaN);
  };
  const quiet = await replyTimes(
    await Promise.all(Array.from({ length: 20 }, (_, i) => mention('C0QUIET001', `quiet${i}z`))),
  );
  slack.rateLimitChannel('C0STORM001', { perSecond: 2, retryAfter: 1 });
  const stormStart = Date.now();
  const stormAsked = await Promise.all(Array.from({ length: storm }, (_, i) => mention('C0STORM001', `storm${i}z`)));
  const beside = await replyTimes(
    await Promise.all(Array.from({ length: 20 }, (_, i) => mention('C0BESIDE01', `beside${i}z`))),
  );
  const stormTimes = await replyTimes(stormAsked);
  const stormLost = stormAsked.filter((a) => answers(a.channel, a.question) === 0).length;
  const stormDup = stormAsked.filter((a) => answers(a.channel, a.question) > 1).length;
  const refused = slack.calls.filter((c) => c.rateLimited).length;
  console.log(
    `\n2. rate-limit storm: ${storm} answers into one channel limited to 2 writes/s (429, Retry-After: 1); load average ${load()}`,
  );
  console.log(
    `   storm: all answers out after ${ms(Date.now() - stormStart)} (p50 ${ms(percentile(stormTimes, 50))}, max ${ms(Math.max(...stormTimes))}); ${refused} writes refused by Slack and retried; lost ${stormLost}, duplicated ${stormDup}`,
  );
  console.log(
    `   another channel meanwhile: reply p50 ${ms(percentile(beside, 50))}, p99 ${ms(percentile(beside, 99))} — with no storm: p50 ${ms(percentile(quiet, 50))}, p99 ${ms(percentile(quiet, 99))}`,
  );
  if (slack.failures.length) console.log(`   fake Slack saw problems: ${slack.failures.slice(0, 5).join('; ')}`);
} finally {
  await bot.kill('SIGTERM');
  await llm.close();
  await slack.close();
  await cluster.destroy();
}
