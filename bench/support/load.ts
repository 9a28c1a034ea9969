/**
 * Benchmark knobs from the environment: BENCH_RATE (requests/s, default 200), BENCH_SECONDS (default
 * 30), BENCH_DRAIN_SECONDS (how long to wait for outstanding replies after the last send, default
 * 120; the wait also ends after 60 s without a new reply).
 */
export function benchSettings(env: Record<string, string | undefined> = process.env): {
  rate: number;
  seconds: number;
  drainSeconds: number;
  count: number;
} {
  const num = (name: string, fallback: number, max: number) => {
    const v = env[name] === undefined || env[name] === '' ? fallback : Number(env[name]);
    if (!Number.isFinite(v) || v <= 0 || v > max)
      throw new Error(`${name} must be a number in (0, ${max}], got "${env[name]}"`);
    return v;
  };
  const rate = num('BENCH_RATE', 200, 2000);
  const seconds = num('BENCH_SECONDS', 30, 600);
  const drainSeconds = num('BENCH_DRAIN_SECONDS', 120, 1800);
  return { rate, seconds, drainSeconds, count: Math.max(1, Math.round(rate * seconds)) };
}

/** What happened to one request: when it was sent, answered over HTTP, and replied to at the fake platform. */
export type Sample = {
  /** Scheduled send time (performance.now() ms). */
  due: number;
  sentAt: number;
  httpAt?: number;
  status?: number;
  /** First platform-side activity of any kind (e.g. a Teams typing indicator). */
  firstAt?: number;
  /** First reply carrying the answer. */
  replyAt?: number;
  replies: number;
};

/**
 * Open-loop load: request i is sent at start + i/rate whether or not earlier ones were answered
 * (bounded to `count` requests and `seconds` + 5 s of wall time). `send` resolves with the HTTP
 * status once the response body was read; it must not throw (errors count as status 0).
 */
export async function openLoop(opts: {
  rate: number;
  count: number;
  seconds: number;
  send(i: number, sample: Sample): Promise<number>;
}): Promise<{ samples: Sample[]; slipP99: number; sendSeconds: number }> {
  const samples: Sample[] = [];
  const inflight: Promise<void>[] = [];
  const start = performance.now() + 20;
  const deadline = start + (opts.seconds + 5) * 1000;
  const interval = 1000 / opts.rate;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < opts.count && start + next * interval <= now && now < deadline) {
        const sample: Sample = { due: start + next * interval, sentAt: performance.now(), replies: 0 };
        samples.push(sample);
        inflight.push(
          opts.send(next, sample).then(
            (status) => {
              sample.status = status;
              sample.httpAt = performance.now();
            },
            () => {
              sample.status = 0;
              sample.httpAt = performance.now();
            },
          ),
        );
        next++;
      }
      if (next >= opts.count || performance.now() >= deadline) return resolve();
      setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  const sendSeconds = (performance.now() - start) / 1000;
  await Promise.all(inflight);
  return {
    samples,
    slipP99: percentile(
      samples.map((s) => s.sentAt - s.due),
      99,
    ),
    sendSeconds,
  };
}

/** Waits until `done()` or until nothing new happened for `idleMs`, at most `maxMs`. */
export async function drain(
  done: () => boolean,
  progress: () => number,
  opts: { maxMs: number; idleMs: number },
): Promise<void> {
  const end = performance.now() + opts.maxMs;
  let last = progress();
  let lastChange = performance.now();
  while (!done() && performance.now() < end && performance.now() - lastChange < opts.idleMs) {
    await new Promise((r) => setTimeout(r, 50));
    const p = progress();
    if (p !== last) {
      last = p;
      lastChange = performance.now();
    }
  }
}

/** Nearest-rank percentile; NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The numbers of one target. */
export type Summary = {
  name: string;
  sent: number;
  httpErrors: number;
  http: { p50: number; p99: number; max: number };
  first: { p50: number; p99: number };
  reply: { p50: number; p99: number; max: number };
  lost: number;
  duplicated: number;
  slipP99: number;
  sendSeconds: number;
  drainSeconds: number;
};

export function summarize(
  name: string,
  run: { samples: Sample[]; slipP99: number; sendSeconds: number },
  drainSeconds: number,
): Summary {
  const s = run.samples;
  const http = s.filter((x) => x.httpAt !== undefined).map((x) => x.httpAt! - x.sentAt);
  const replies = s.filter((x) => x.replyAt !== undefined).map((x) => x.replyAt! - x.sentAt);
  const firsts = s.filter((x) => x.firstAt !== undefined).map((x) => x.firstAt! - x.sentAt);
  return {
    name,
    sent: s.length,
    httpErrors: s.filter((x) => !x.status || x.status >= 300).length,
    http: { p50: percentile(http, 50), p99: percentile(http, 99), max: percentile(http, 100) },
    first: { p50: percentile(firsts, 50), p99: percentile(firsts, 99) },
    reply: { p50: percentile(replies, 50), p99: percentile(replies, 99), max: percentile(replies, 100) },
    lost: s.filter((x) => x.replies === 0).length,
    duplicated: s.filter((x) => x.replies > 1).length,
    slipP99: run.slipP99,
    sendSeconds: run.sendSeconds,
    drainSeconds,
  };
}

export const ms = (v: number) =>
  Number.isNaN(v) ? '—' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;

/** Prints a fixed-width table; `columns` pick and label the values. */
/** A column of a results table: its heading and how a bot's summary shows in it. */
export type Column = [string, (s: Summary) => string];

/** Which bot, and how many requests it got. */
export const botColumns: Column[] = [
  ['bot', (s) => s.name],
  ['sent', (s) => String(s.sent)],
];

/** One latency's statistics `keys` (of p50, p99, max), headed `<label> <key>`. */
export function latencyColumns<K extends 'p50' | 'p99' | 'max'>(
  label: string,
  of: (s: Summary) => Record<K, number>,
  keys: readonly K[],
): Column[] {
  return keys.map((k): Column => [`${label} ${k}`, (s) => ms(of(s)[k])]);
}

/** Requests that failed, answers that never came and answers that came twice. */
export const outcomeColumns: Column[] = [
  ['http errors', (s) => String(s.httpErrors)],
  ['lost', (s) => String(s.lost)],
  ['duplicated', (s) => String(s.duplicated)],
];

export function printTable(rows: Summary[], columns: Column[]): void {
  const cells = [columns.map(([h]) => h), ...rows.map((r) => columns.map(([, f]) => f(r)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  for (const row of cells)
    console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

/** Makes `list.push` report each pushed item with its arrival time (observes the fakes' call logs without changing them). */
export function observePush<T>(list: T[], fn: (item: T, at: number) => void): void {
  const push = list.push.bind(list);
  list.push = (...items: T[]) => {
    const at = performance.now();
    for (const item of items) fn(item, at);
    return push(...items);
  };
}
