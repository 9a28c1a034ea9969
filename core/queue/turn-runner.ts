import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Orm } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import type { Notifications } from './notifications.ts';
import { TURN_CHANNEL } from './session-inbox.ts';
import { claimSession, claimWaiting, handBack, releaseSession, renewLeases, type LeaseScope } from './session-lease.ts';

/** Runs a leased session's pending items until none is left; must stop soon after `signal` aborts. */
export type SessionDrain = (sessionId: string, signal: AbortSignal) => Promise<void>;

export type TurnRunnerOptions = {
  orm: Orm;
  log: Logger;
  drain: SessionDrain;
  /** Sessions driven at once by this process (TURN_CONCURRENCY). */
  concurrency: number;
  /** How long a lease lasts without renewal (TURN_LEASE_SECONDS); renewed every third of it. */
  leaseMs: number;
  /** Wake-ups from other processes' intake; without, the runner only polls (and takes `wake` calls). */
  notifications?: Notifications;
  /** How often to look for sessions nobody drives (new work missed, leases of dead processes). Default 1 s. */
  pollMs?: number;
  scope?: LeaseScope;
};

/** A running turn runner; see `startTurnRunner`. */
export type TurnRunner = {
  readonly owner: string;
  /** Sessions this process drives right now. */
  inFlight(): number;
  /** Try to take `sessionId` now (after a local submit): no need to wait for the NOTIFY round trip. */
  wake(sessionId: string): void;
  /**
   * Stops taking sessions, lets the running ones finish for up to `graceMs`, then stops them and
   * hands their sessions back (lease ended, attempt not counted) for another process to resume.
   */
  stop(graceMs?: number): Promise<void>;
};

/**
 * Drives sessions by lease (DESIGN §4): takes a session when it is woken (NOTIFY from intake,
 * `wake`) or finds it waiting (poll: new work nobody took, expired leases of dead processes),
 * runs its items with `drain`, and gives the lease up once the inbox is empty. Holds no database
 * connection while a turn waits: leases are rows, renewed for all sessions in one statement.
 * At most `concurrency` sessions run at once; more wait in the database for this or another
 * process. A session whose lease was lost (taken over after this process stalled past the
 * expiry) is aborted, so it is never driven twice.
 */
export function startTurnRunner(opts: TurnRunnerOptions): TurnRunner {
  const log = opts.log.child({ component: 'turns' });
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const em = () => opts.orm.em.fork();
  const scope = opts.scope ?? {};
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let polling = false;
  let pollAgain = false;

  const drive = (sessionId: string) => {
    const abort = new AbortController();
    const done = (async () => {
      try {
        for (;;) {
          await opts.drain(sessionId, abort.signal);
          if (abort.signal.aborted) return;
          if (await releaseSession(em(), sessionId, owner)) return;
        }
      } catch (err) {
        if (!abort.signal.aborted) log.error({ err, sessionId }, 'session drain failed; its lease runs out and it is retried');
      } finally {
        running.delete(sessionId);
        // A slot is free: look for sessions that waited while this process was full.
        if (!stopping) schedulePoll();
      }
    })();
    running.set(sessionId, { abort, done });
  };

  const tryClaim = async (sessionId: string) => {
    if (stopping || running.has(sessionId) || running.size >= opts.concurrency) {
      if (running.size >= opts.concurrency) pollAgain = true;
      return;
    }
    // Reserve the slot while the claim is in flight, so concurrent wake-ups cannot overshoot.
    const reserved = { abort: new AbortController(), done: Promise.resolve() };
    running.set(sessionId, reserved);
    let claimed = false;
    try {
      claimed = await claimSession(em(), sessionId, owner, opts.leaseMs, scope);
    } catch (err) {
      log.warn({ err, sessionId }, 'could not claim a session; polling will retry');
    } finally {
      if (running.get(sessionId) === reserved) running.delete(sessionId);
    }
    if (claimed && !stopping) drive(sessionId);
    else if (claimed) await handBack(em(), owner, [sessionId]);
  };

  const poll = async () => {
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = true;
    try {
      do {
        pollAgain = false;
        const room = opts.concurrency - running.size;
        if (stopping || room <= 0) break;
        const ids = await claimWaiting(em(), owner, opts.leaseMs, room, scope);
        for (const id of ids) {
          if (stopping || running.has(id)) await handBack(em(), owner, [id]);
          else drive(id);
        }
        if (ids.length === room) pollAgain = true;
      } while (pollAgain && !stopping);
    } catch (err) {
      log.warn({ err }, 'polling for waiting sessions failed');
    } finally {
      polling = false;
    }
  };
  let pollScheduled = false;
  const schedulePoll = () => {
    if (pollScheduled) return;
    pollScheduled = true;
    setImmediate(() => {
      pollScheduled = false;
      void poll();
    });
  };

  const renew = async () => {
    const ids = [...running.keys()];
    if (ids.length === 0) return;
    try {
      const held = await renewLeases(em(), owner, ids, opts.leaseMs);
      for (const id of ids) {
        const r = running.get(id);
        if (r && !held.has(id) && (await stillRunning(id))) {
          log.warn({ sessionId: id }, 'lost the lease of a running session (another process took it over); stopping it here');
          r.abort.abort(new Error('lease lost'));
        }
      }
    } catch (err) {
      log.warn({ err }, 'could not renew session leases');
    }
  };
  // A session that finished between the snapshot and the renewal is not "lost".
  const stillRunning = async (id: string) => running.has(id);

  const unsubscribe = opts.notifications?.subscribe(TURN_CHANNEL, (sessionId) => void tryClaim(sessionId));
  const pollTimer = setInterval(() => void poll(), opts.pollMs ?? 1000);
  const renewTimer = setInterval(() => void renew(), Math.max(100, Math.round(opts.leaseMs / 3)));
  pollTimer.unref();
  renewTimer.unref();
  schedulePoll();
  log.debug({ owner, concurrency: opts.concurrency, leaseMs: opts.leaseMs }, 'turn runner started');

  return {
    owner,
    inFlight: () => running.size,
    wake: (sessionId) => void tryClaim(sessionId),
    stop(graceMs = 8000) {
      stopped ??= shutdown(graceMs);
      return stopped;
    },
  };

  async function shutdown(graceMs: number): Promise<void> {
    stopping = true;
    unsubscribe?.();
    clearInterval(pollTimer);
    const all = () => Promise.allSettled([...running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([all().then(() => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), graceMs); })]);
    clearTimeout(timer);
    if (!finished) {
      const left = [...running.keys()];
      log.info({ sessions: left.length }, 'handing unfinished turns back for another process to resume');
      for (const r of running.values()) r.abort.abort(new Error('shutting down'));
      await all();
      await handBack(em(), owner, left).catch((err: unknown) => log.warn({ err }, 'could not hand sessions back; their leases run out instead'));
    }
    clearInterval(renewTimer);
  }
}
