import { readFileSync, writeFileSync } from 'node:fs';
import { queueState } from './db.ts';
import { drain, ms, openLoop, summarize, type Sample, type Summary } from './load.ts';

/** CPU time (ms) a process has used so far in user and in system (kernel) mode, from /proc; undefined where there is none. */
function cpuMs(pid: number): { user: number; system: number } | undefined {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name): utime and stime in clock ticks (100/s).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
  } catch {
    return undefined;
  }
}

/**
 * Statements the bot has sent to PostgreSQL so far, per pool, from its /metrics
 * (`renderbot_db_statements_total`, core/db/statements.ts); undefined for a bot without it.
 */
async function statements(base: string): Promise<Map<string, number> | undefined> {
  try {
    const res = await fetch(`${base}/metrics`);
    if (!res.ok) return undefined;
    const counts = new Map<string, number>();
    for (const m of (await res.text()).matchAll(/^renderbot_db_statements_total\{pool="(\w+)"\} (\d+)$/gm))
      counts.set(m[1]!, Number(m[2]));
    return counts.size ? counts : undefined;
  } catch {
    return undefined;
  }
}

/** Requests sent (not measured) before each bot's measured phase. */
export const WARMUP = 20;

/** The bots BENCH_BOTS names (comma-separated kinds), or all of them. */
export function selectedBots<B extends { kind: string }>(bots: B[]): B[] {
  const only = process.env.BENCH_BOTS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  return bots.filter((b) => !only?.length || only.includes(b.kind));
}

/** Warm-up, not measured: WARMUP requests at 20/s, then wait until each got its reply (connections, JIT, caches). */
export async function warmUp(send: (i: number, sample: Sample) => Promise<number>): Promise<void> {
  const warm = await openLoop({ rate: 20, count: WARMUP, seconds: 5, send });
  await drain(
    () => warm.samples.every((s) => s.replies > 0),
    () => 0,
    { maxMs: 30_000, idleMs: 30_000 },
  );
}

/**
 * One bot's measured phase: open-loop load, a drain until every request is answered (or the
 * limits), a second for late duplicates, then the summary. `stop` is called before summarising,
 * so the caller stops attributing platform calls to this phase. Reports RenderBot's leftover
 * queue when replies are missing.
 */
export async function measureBot(opts: {
  bot: { name: string; kind: string };
  /** The bot's process: its CPU time per request is printed (the cost of a turn, whatever the machine's load). */
  pid?: number;
  /** The bot's HTTP base: its statements per request are printed when it serves renderbot_db_statements_total on /metrics. */
  base?: string;
  load: { rate: number; count: number; seconds: number; drainSeconds: number };
  dbUrl: string;
  /** How the log line calls an answered request ("replied", "answered"). */
  answered: string;
  send(i: number, sample: Sample): Promise<number>;
  stop(): void;
}): Promise<Summary> {
  const { bot, load } = opts;
  const statementsBefore = opts.base ? await statements(opts.base) : undefined;
  const cpuBefore = opts.pid ? cpuMs(opts.pid) : undefined;
  const run = await openLoop({ rate: load.rate, count: load.count, seconds: load.seconds, send: opts.send });
  const drainStart = performance.now();
  const replied = () => run.samples.reduce((n, s) => n + (s.replies > 0 ? 1 : 0), 0);
  await drain(() => replied() === run.samples.length, replied, { maxMs: load.drainSeconds * 1000, idleMs: 60_000 });
  const drained = (performance.now() - drainStart) / 1000;
  const cpuAfter = opts.pid ? cpuMs(opts.pid) : undefined;
  const statementsAfter = statementsBefore && opts.base ? await statements(opts.base) : undefined;
  await new Promise((r) => setTimeout(r, 1000)); // late duplicates
  opts.stop();
  const summary = summarize(bot.name, run, drained);
  if (process.env.BENCH_DUMP) writeFileSync(`${process.env.BENCH_DUMP}.${bot.kind}.json`, JSON.stringify(run.samples));
  if (bot.kind === 'renderbot' && summary.lost > 0) {
    const q = await queueState(opts.dbUrl);
    console.log(
      `  ${bot.name}: of ${summary.lost} without a reply after the drain, turns still queued: ${q.waiting} waiting in inboxes, ${q.running} drain jobs running, ${q.failed} failed`,
    );
  }
  const per = (ms: number) => (ms / summary.sent).toFixed(1);
  // System time is mostly the kernel's side of the sockets (loopback TCP to PostgreSQL and the fakes).
  const cpu =
    cpuBefore !== undefined && cpuAfter !== undefined
      ? `; its process used ${per(cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system)} ms CPU per request (user ${per(cpuAfter.user - cpuBefore.user)}, system ${per(cpuAfter.system - cpuBefore.system)})`
      : '';
  if (statementsBefore && statementsAfter) {
    // Per answered request: a request refused or lost costs less than a turn.
    const answered = Math.max(1, summary.sent - summary.lost);
    const per = [...statementsAfter]
      .map(([pool, n]) => [pool, (n - (statementsBefore.get(pool) ?? 0)) / answered] as const)
      .filter(([, n]) => n > 0);
    const total = per.reduce((sum, [, n]) => sum + n, 0);
    console.log(
      `  ${bot.name}: ${total.toFixed(2)} SQL statements per ${opts.answered} request (${per.map(([pool, n]) => `${pool} ${n.toFixed(2)}`).join(', ')}; polls and renewals included)`,
    );
  }
  console.log(
    `  ${bot.name}: ${summary.sent} sent in ${summary.sendSeconds.toFixed(1)} s (send slip p99 ${ms(summary.slipP99)}), ${summary.sent - summary.lost} ${opts.answered}, drained in ${summary.drainSeconds.toFixed(1)} s${cpu}`,
  );
  return summary;
}
