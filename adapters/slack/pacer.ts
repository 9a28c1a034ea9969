import type { Logger } from '../../core/logger.ts';

/*
 * Slack rate-limits writes per channel (chat.postMessage about one a second, chat.update Tier 3)
 * and answers a call over the limit with HTTP 429 and `Retry-After`. The Web API client's own
 * handling pauses every request it sends — every workspace's and channel's — until the wait is
 * over, so RenderBot's client rejects rate-limited calls instead (`rejectRateLimitedCalls`), and
 * the calls into one channel go through a pacer: one at a time, in the order they were made,
 * waiting as Slack says without holding up any other channel. Edits of one message that pile up
 * while the channel waits are coalesced: only the newest is sent.
 */

/** How long one call may wait out a channel's rate limit before it fails (the caller's retry takes over then). */
export const MAX_RATE_LIMIT_WAIT_MS = 5 * 60_000;

type Waiter = { resolve(value: unknown): void; reject(err: unknown): void };
type Entry = { call: () => Promise<unknown>; coalesce?: string; inFlight: boolean; waiters: Waiter[] };

/** Seconds Slack asked to wait, when `err` is the Web API client's rate-limit rejection. */
export function rateLimitedFor(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; retryAfter?: unknown };
  return e.code === 'slack_webapi_rate_limited_error' && typeof e.retryAfter === 'number' ? e.retryAfter : undefined;
}

/** Runs Slack calls per channel key; see above. */
export type ChannelPacer = {
  /**
   * Runs `call` after the calls made earlier for `key` (e.g. team and channel), waiting out rate
   * limits. With `coalesce`, a call with the same id that has not been sent yet is replaced by
   * this one, and both callers get this one's result.
   */
  run<T>(key: string, call: () => Promise<T>, opts?: { coalesce?: string }): Promise<T>;
};

export function createChannelPacer(opts: { log: Logger; sleep?: (ms: number) => Promise<void> }): ChannelPacer {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const queues = new Map<string, Entry[]>();

  async function attempt(key: string, entry: Entry): Promise<unknown> {
    let waited = 0;
    for (;;) {
      entry.inFlight = true;
      try {
        return await entry.call();
      } catch (err) {
        const seconds = rateLimitedFor(err);
        if (seconds === undefined || waited + seconds * 1000 > MAX_RATE_LIMIT_WAIT_MS) throw err;
        opts.log.info({ channel: key, retryAfterSeconds: seconds }, 'Slack rate limit in this channel; waiting as told');
        entry.inFlight = false;
        waited += seconds * 1000;
        await sleep(seconds * 1000);
      }
    }
  }

  async function drain(key: string, queue: Entry[]): Promise<void> {
    while (queue.length > 0) {
      const entry = queue[0]!;
      try {
        const result = await attempt(key, entry);
        for (const w of entry.waiters) w.resolve(result);
      } catch (err) {
        for (const w of entry.waiters) w.reject(err);
      }
      queue.shift();
    }
    queues.delete(key);
  }

  return {
    run<T>(key: string, call: () => Promise<T>, o: { coalesce?: string } = {}): Promise<T> {
      let queue = queues.get(key);
      const idle = !queue;
      if (!queue) {
        queue = [];
        queues.set(key, queue);
      }
      const pending = o.coalesce ? queue.find((e) => e.coalesce === o.coalesce && !e.inFlight) : undefined;
      const result = new Promise<unknown>((resolve, reject) => {
        if (pending) {
          pending.call = call;
          pending.waiters.push({ resolve, reject });
        } else {
          queue.push({ call, ...(o.coalesce ? { coalesce: o.coalesce } : {}), inFlight: false, waiters: [{ resolve, reject }] });
        }
      });
      if (idle) void drain(key, queue);
      // Every caller gets what the call that ran returned (a coalesced edit's result is the newest edit's).
      return result as Promise<T>;
    },
  };
}
