import type { Logger } from './logger.ts';

/*
 * Whether the database can be reached. A failover, a restart or a network cut makes every
 * statement fail for a while; the process must neither exit nor log a line per request, and
 * work that needs the database waits for it to come back instead of failing. One monitor per
 * process: errors are reported to it, it logs one line when the database is lost and one when it
 * is back, and it probes every second until then.
 */

/** Error codes of a server that is gone or not yet back (node's socket errors, PostgreSQL's 57P0x/08xxx). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P03',
  '08001',
  '08004',
]);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '08000', '08003', '08006']);
/** node-postgres reports a dropped connection by message only. */
const LOST_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'Connection ended unexpectedly',
];
/**
 * pg-pool's answer when every connection of a pool is busy for longer than the pool's wait limit
 * (a connect that times out says "Connection terminated due to connection timeout" instead): the
 * database is up but this process asks more of it than its pool allows. The statement never left.
 */
const POOL_BUSY_MESSAGE = 'timeout exceeded when trying to connect';
/** PostgreSQL's answers that a transaction lost a race and may simply run again: serialization failure, deadlock. */
const RETRYABLE_CODES = new Set(['40001', '40P01']);

/**
 * True when a statement failed for a reason that is not the statement's: the database was out of
 * reach or the transaction lost a race. Work that failed so was rolled back and may run again.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  if (isDatabaseUnavailable(err)) return true;
  for (const e of chain(err)) if (typeof e.code === 'string' && RETRYABLE_CODES.has(e.code)) return true;
  return false;
}

/** How often at most a busy pool is logged: one line for a burst, not one per refused request. */
const BUSY_LOG_EVERY_MS = 10_000;

/**
 * A failure an HTTP client or the model layer reports is about the server it called (a model
 * endpoint, a Slack response_url, the Bot Connector), never the database, though it carries the
 * same ECONNREFUSED or ECONNRESET a refused PostgreSQL connection does: fetch's TypeErrors
 * ("fetch failed" before a response, "terminated" for a body cut off) and undici's UND_ERR_*
 * errors, axios errors (Bolt's `respond`), the Azure REST pipeline's RestError (botframework-
 * connector), node-fetch's FetchError, and RenderBot's own `llm_*` errors (core/llm).
 */
function isHttpClientFailure(e: {
  code?: unknown;
  message?: unknown;
  name?: unknown;
  isAxiosError?: unknown;
}): boolean {
  if (e instanceof TypeError && (e.message === 'fetch failed' || e.message === 'terminated')) return true;
  if (e.isAxiosError === true || e.name === 'RestError' || e.name === 'FetchError') return true;
  return typeof e.code === 'string' && (e.code.startsWith('UND_ERR_') || e.code.startsWith('llm_'));
}

/**
 * The errors an error stands for: itself, its causes and (AggregateError: one per address tried)
 * its members — not what an HTTP client's failure wraps. Bounded.
 */
function* chain(err: unknown, depth = 0): Generator<{ code?: unknown; message?: unknown }> {
  if (depth > 8 || typeof err !== 'object' || err === null) return;
  const e = err as {
    code?: unknown;
    message?: unknown;
    name?: unknown;
    cause?: unknown;
    errors?: unknown;
    isAxiosError?: unknown;
  };
  if (isHttpClientFailure(e)) return;
  yield e;
  if (e.cause) yield* chain(e.cause, depth + 1);
  if (Array.isArray(e.errors)) for (const member of e.errors.slice(0, 4)) yield* chain(member, depth + 1);
}

/**
 * True when the statement never reached the server (it refused the connection or is starting
 * up): running it again once the database is back cannot do anything twice.
 */
function neverReachedDatabase(err: unknown): boolean {
  for (const e of chain(err)) if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  return poolBusy(err);
}

function poolBusy(err: unknown): boolean {
  for (const e of chain(err)) if (e.message === POOL_BUSY_MESSAGE) return true;
  return false;
}

/** True when `err` says the database is out of reach (never reached, or the connection was lost mid-way). */
function isDatabaseUnavailable(err: unknown): boolean {
  if (neverReachedDatabase(err)) return true;
  for (const e of chain(err)) {
    if (typeof e.code === 'string' && LOST_CODES.has(e.code)) return true;
    if (typeof e.message === 'string' && LOST_MESSAGES.some((m) => (e.message as string).startsWith(m))) return true;
  }
  return false;
}

/** The process's view of the database; see `createDatabaseAvailability`. */
export type DatabaseAvailability = {
  /** Whether the database answered the last time anyone looked. */
  readonly up: boolean;
  /**
   * Tells the monitor about a failure; true when it means the database is out of reach or this
   * process's pool is saturated — the monitor logged (once per outage, at most once per 10 s for a
   * busy pool) what the caller need not log again. Only an outage marks the database down.
   */
  report(err: unknown): boolean;
  /** Asks the database now (readiness); a failure starts an outage, a success after one ends it. */
  check(): Promise<boolean>;
  /** Resolves once the database is reachable (at once when it is); rejects with `signal`'s reason when it aborts first. */
  whenUp(signal?: AbortSignal): Promise<void>;
  /** Stops probing. */
  close(): void;
};

/**
 * A monitor over `ping` (one cheap statement): after a reported outage it pings every `retryMs`
 * until the database answers, then wakes everyone waiting in `whenUp`. A busy pool is told apart
 * from a database whose connections hang (a network cut leaves them waiting, so the pool looks
 * busy too) by `probe`: one statement on a connection of its own with short timeouts, run at most
 * once per `probeEveryMs` while pools report busy; when it fails, the database is lost.
 */
export function createDatabaseAvailability(opts: {
  ping: () => Promise<unknown>;
  probe?: () => Promise<unknown>;
  log: Logger;
  retryMs?: number;
  probeEveryMs?: number;
}): DatabaseAvailability {
  const log = opts.log.child({ component: 'database' });
  const retryMs = opts.retryMs ?? 1000;
  let up = true;
  let lostAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const waiters = new Set<() => void>();

  const lost = (err: unknown) => {
    if (!up) return;
    up = false;
    lostAt = Date.now();
    log.error(
      { err: err instanceof Error ? err.message : String(err) },
      'database unreachable: requests are refused and turns wait until it is back',
    );
    schedule();
  };
  const back = () => {
    if (up) return;
    up = true;
    clearTimeout(timer);
    timer = undefined;
    log.info({ downForMs: Date.now() - lostAt }, 'database is back');
    for (const wake of [...waiters]) wake();
  };
  const schedule = () => {
    if (closed || up || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void check();
    }, retryMs);
    timer.unref();
  };
  let busySince = 0;
  let busyCount = 0;
  let probedAt = 0;
  let probing = false;
  const probeBusy = () => {
    const now = Date.now();
    if (!opts.probe || probing || closed || now - probedAt < (opts.probeEveryMs ?? 5_000)) return;
    probing = true;
    probedAt = now;
    opts
      .probe()
      .then(
        () => undefined,
        (err: unknown) => lost(err),
      )
      .finally(() => (probing = false));
  };
  const busy = () => {
    probeBusy();
    busyCount += 1;
    const now = Date.now();
    if (now - busySince < BUSY_LOG_EVERY_MS) return;
    log.warn({ waited: busyCount }, 'database pool busy: statements waited longer than their limit for a connection');
    busySince = now;
    busyCount = 0;
  };
  const report = (err: unknown): boolean => {
    if (poolBusy(err)) {
      busy();
      return true;
    }
    if (!isDatabaseUnavailable(err)) return false;
    lost(err);
    return true;
  };
  const check = async (): Promise<boolean> => {
    try {
      await opts.ping();
      back();
      return true;
    } catch (err) {
      if (!report(err)) log.warn({ err }, 'database check failed');
      schedule();
      return false;
    }
  };

  return {
    get up() {
      return up;
    },
    report,
    check,
    whenUp(signal) {
      if (up) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          waiters.delete(done);
          signal?.removeEventListener('abort', aborted);
          resolve();
        };
        const aborted = () => {
          waiters.delete(done);
          reject(signal!.reason);
        };
        if (signal?.aborted) return reject(signal.reason);
        waiters.add(done);
        signal?.addEventListener('abort', aborted, { once: true });
      });
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs `write`; while the database is out of reach, waits until it is back and runs it again,
 * until `signal` aborts. With `unsentOnly`, only a write that never reached the server is run
 * again (for statements that must not run twice); otherwise the write must be safe to repeat.
 */
export async function whenStored<T>(
  availability: DatabaseAvailability | undefined,
  signal: AbortSignal | undefined,
  write: () => Promise<T>,
  opts: { unsentOnly?: boolean } = {},
): Promise<T> {
  for (;;) {
    try {
      return await write();
    } catch (err) {
      const retry =
        availability && !signal?.aborted && (opts.unsentOnly ? neverReachedDatabase(err) : isDatabaseUnavailable(err));
      if (!retry) throw err;
      availability.report(err);
      await availability.whenUp(signal);
    }
  }
}
