import type { Logger } from './logger.ts';

/*
 * Platforms rate-limit writes per conversation (Slack: chat.postMessage about one a second per
 * channel; the Bot Connector throttles per conversation) and answer a call over the limit with
 * HTTP 429 and `Retry-After`. A pacer runs the calls into one conversation one at a time, in the
 * order they were made, waiting as the platform says without holding up any other conversation
 * (a client-wide pause, as Slack's Web API client does by default, would stall every workspace).
 * Edits of one message that pile up while the conversation waits are coalesced: only the newest
 * is sent.
 */

/** How long one call may wait out a channel's rate limit before it fails (the caller's retry takes over then). */
const MAX_RATE_LIMIT_WAIT_MS = 5 * 60_000;

type Waiter = { resolve(value: unknown): void; reject(err: unknown): void };
type Entry = { call: () => Promise<unknown>; coalesce?: string; inFlight: boolean; waiters: Waiter[] };

/** Runs platform calls per conversation key; see above. */
export type ChannelPacer = {
  /**
   * Runs `call` after the calls made earlier for `key` (e.g. team and channel), waiting out rate
   * limits. With `coalesce`, a call with the same id that has not been sent yet is replaced by
   * this one, and both callers get this one's result.
   */
  run<T>(key: string, call: () => Promise<T>, opts?: { coalesce?: string }): Promise<T>;
};

/**
 * A pacer for one platform: `waitFor(err)` tells how many seconds the platform asked to wait when
 * `err` is its rate-limit response (undefined for any other failure, which is passed on at once).
 */
export function createChannelPacer(opts: {
  log: Logger;
  waitFor: (err: unknown) => number | undefined;
  sleep?: (ms: number) => Promise<void>;
}): ChannelPacer {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const queues = new Map<string, Entry[]>();

  async function attempt(key: string, entry: Entry): Promise<unknown> {
    let waited = 0;
    for (;;) {
      entry.inFlight = true;
      try {
        return await entry.call();
      } catch (err) {
        const seconds = opts.waitFor(err);
        if (seconds === undefined || waited + seconds * 1000 > MAX_RATE_LIMIT_WAIT_MS) throw err;
        opts.log.info({ channel: key, retryAfterSeconds: seconds }, 'rate limit in this conversation; waiting as told');
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
          queue.push({
            call,
            ...(o.coalesce ? { coalesce: o.coalesce } : {}),
            inFlight: false,
            waiters: [{ resolve, reject }],
          });
        }
      });
      if (idle) void drain(key, queue);
      // Every caller gets what the call that ran returned (a coalesced edit's result is the newest edit's).
      return result as Promise<T>;
    },
  };
}
