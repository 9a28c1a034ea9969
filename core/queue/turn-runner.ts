import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Orm } from '../db/orm.ts';
import type { DatabaseAvailability } from '../availability.ts';
import type { Logger } from '../logger.ts';
import type { Notifications } from './notifications.ts';
import { TURN_CHANNEL, type ClaimedItems } from './session-inbox.ts';
import { parseStopNotice, STOP_CHANNEL, stoppedItems } from './turn-stops.ts';
import {
  claimSession,
  claimWaiting,
  handBack,
  releaseLeases,
  releaseSession,
  renewLeases,
  type Claimed,
  type LeaseScope,
} from './session-lease.ts';

/** The lease a drain works under: who holds it, and a signal that aborts when it may be lost or the process stops. */
export type Lease = {
  owner: string;
  signal: AbortSignal;
  /**
   * A signal for running inbox items `itemIds`: aborts with `signal`, and when a stop of one of
   * them is requested (turn-stops.ts, by NOTIFY — also one that arrived before this call).
   * Without (a drain run by hand), only `signal` stops a turn.
   */
  stopSignal?: (itemIds: readonly string[]) => AbortSignal;
};

/**
 * Runs a leased session's pending items until none is left; must stop soon after `lease.signal`
 * aborts. Resolves true when it gave the lease up itself (with its last item, see `finishItems`).
 * `pending`: the items as the claim read them and the one it started (claimSession), instead of reading them again.
 */
export type SessionDrain = (sessionId: string, lease: Lease, pending?: ClaimedItems) => Promise<boolean | void>;

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
  /** Where stop requests arrive (STOP_CHANNEL); default `notifications`. A runner that is not woken by NOTIFY (the terminal's) still heeds stops. */
  stops?: Notifications;
  /** How often to look for sessions nobody drives (new work missed, leases of dead processes). Default 1 s. */
  pollMs?: number;
  scope?: LeaseScope;
  /** Whether the database is reachable: failures during an outage are not logged one by one (the outage is, once). */
  availability?: DatabaseAvailability;
};

/** A running turn runner; see `startTurnRunner`. */
export type TurnRunner = {
  readonly owner: string;
  /** Sessions this process drives right now. */
  inFlight(): number;
  /** Try to take `sessionId` now (after a local submit): no need to wait for the NOTIFY round trip. Ignored until started. */
  wake(sessionId: string): void;
  /**
   * Stops taking sessions, lets the running ones finish for up to `graceMs`, then stops them and
   * hands their sessions back (lease ended, attempt not counted) for another process to resume.
   */
  stop(graceMs?: number): Promise<void>;
};

/** Sessions of one tenant a process drives beyond that tenant's model cap (turns between model calls). */
export const TENANT_HEADROOM = 16;

type Drive = {
  abort: AbortController;
  done: Promise<void>;
  tenantId: string;
  /** Until when (this process's clock) the lease is known to hold; past it the drive is stopped. */
  heldUntil: number;
  /** Woken for while it ran: look for new work again after letting go. */
  dirty: boolean;
  /** The items running now and what aborts them on a stop request. */
  current?: { ids: ReadonlySet<string>; stop: AbortController };
  /** Items whose stop was signalled to this drive (also before they ran). */
  stopped: Set<string>;
};

/**
 * Drives sessions by lease (docs/design.md §4): takes a session when it is woken (NOTIFY from intake,
 * `wake`) or finds it waiting (poll: new work nobody took, expired leases of dead processes),
 * runs its items with `drain`, and gives the lease up once the inbox is empty. Holds no database
 * connection while a turn waits: leases are rows, renewed for all sessions in one statement.
 *
 * At most `concurrency` sessions run at once, and at most a tenant's model cap plus
 * TENANT_HEADROOM of one tenant, so a flooding tenant cannot take every slot; the rest wait in the
 * database for this or another process. A drive stops (its signal aborts) when its lease may be
 * gone — taken over by another process, or not renewed in time because the database was out of
 * reach — so a session is never driven twice; the inbox refuses to mark items done for a process
 * that no longer holds the lease.
 */
export function startTurnRunner(opts: TurnRunnerOptions): TurnRunner {
  const runner = createTurnRunner(opts);
  runner.start();
  return runner;
}

/**
 * A turn runner that takes no session until `start()`: made before the conversations that wake
 * it, so `wake` is theirs from the start (bot/app.ts); started once the process runs turns.
 */
export function createTurnRunner(opts: TurnRunnerOptions): TurnRunner & { start(): void } {
  const log = opts.log.child({ component: 'turns' });
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const running = new Map<string, Drive>();
  /** Sessions whose claim is in flight: they count against the capacity. */
  const claiming = new Set<string>();
  const perTenant = new Map<string, number>();
  const capOf = new Map<string, number>();
  const em = () => opts.orm.em.fork();
  const scope = opts.scope ?? {};
  /** Renew well before expiry; stop a drive once a renewal is this close to overdue. */
  const safety = Math.max(250, Math.round(opts.leaseMs / 6));
  let started = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let polling = false;
  let pollAgain = false;
  /** Sessions may be waiting for room here (capacity or a tenant's share was full): poll when a drive ends. */
  let backlog = false;

  const room = () => opts.concurrency - running.size - claiming.size;
  const fullTenants = () =>
    [...perTenant].filter(([t, n]) => n >= (capOf.get(t) ?? 1) + TENANT_HEADROOM).map(([t]) => t);

  const drive = (c: Claimed, claimedAt: number) => {
    const entry: Drive = {
      abort: new AbortController(),
      done: Promise.resolve(),
      tenantId: c.tenantId,
      heldUntil: claimedAt + opts.leaseMs - safety,
      dirty: false,
      stopped: new Set(),
    };
    const stopSignal = (itemIds: readonly string[]) => {
      const stop = new AbortController();
      entry.current = { ids: new Set(itemIds), stop };
      if (itemIds.some((id) => entry.stopped.has(id))) stop.abort(new Error('stopped'));
      return AbortSignal.any([entry.abort.signal, stop.signal]);
    };
    capOf.set(c.tenantId, c.cap);
    perTenant.set(c.tenantId, (perTenant.get(c.tenantId) ?? 0) + 1);
    running.set(c.id, entry);
    entry.done = (async () => {
      let released = false;
      try {
        let pending = c.pending;
        for (;;) {
          const releasedByDrain = await opts.drain(c.id, { owner, signal: entry.abort.signal, stopSignal }, pending);
          pending = undefined;
          // Checked first: a renewal racing the drain's own release may have aborted the drive meanwhile.
          if (releasedByDrain === true) {
            released = true;
            return;
          }
          if (entry.abort.signal.aborted) return;
          if (await releaseSession(em(), c.id, owner)) {
            released = true;
            return;
          }
        }
      } catch (err) {
        if (entry.abort.signal.aborted) return;
        // Let go at once (the attempt counts): another try soon, a clear answer after three.
        if (!opts.availability?.report(err))
          log.error({ err, sessionId: c.id }, 'session drain failed; releasing it for another try');
        await releaseLeases(em(), owner, [c.id]).catch(() => {});
      } finally {
        running.delete(c.id);
        const n = (perTenant.get(c.tenantId) ?? 1) - 1;
        if (n > 0) perTenant.set(c.tenantId, n);
        else perTenant.delete(c.tenantId);
        if (!stopping) {
          if (released && entry.dirty) void tryClaim(c.id);
          // A slot is free: look for sessions that waited while this process (or this tenant's share) was full.
          if (backlog) schedulePoll();
        }
      }
    })();
  };

  const tryClaim = async (sessionId: string) => {
    const current = running.get(sessionId);
    if (current) {
      current.dirty = true;
      return;
    }
    if (stopping || claiming.has(sessionId)) return;
    if (room() <= 0) {
      backlog = true;
      return;
    }
    claiming.add(sessionId);
    let claimed: Claimed | undefined;
    const at = Date.now();
    const full = fullTenants();
    try {
      claimed = await claimSession(em(), sessionId, owner, opts.leaseMs, scope, full);
      // Not taken: perhaps its tenant's share is full here; look again when a drive ends.
      if (!claimed && full.length) backlog = true;
    } catch (err) {
      if (!opts.availability?.report(err))
        log.warn({ err, sessionId }, 'could not claim a session; polling will retry');
    } finally {
      claiming.delete(sessionId);
    }
    if (!claimed) return;
    // The claim may have started the session's item: handed back, that start is not an attempt.
    if (stopping) await handBack(em(), owner, [sessionId]);
    else drive(claimed, at);
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
        backlog = false;
        const limit = room();
        if (limit <= 0) backlog = true;
        if (stopping || limit <= 0) break;
        const at = Date.now();
        const claimed = await claimWaiting(em(), owner, opts.leaseMs, limit, scope, {
          running: Object.fromEntries(perTenant),
          headroom: TENANT_HEADROOM,
        });
        const extra: string[] = [];
        for (const c of claimed) {
          const own = running.get(c.id);
          // This process's own session whose lease had run out: taking it again renewed it.
          if (own) own.heldUntil = at + opts.leaseMs - safety;
          else if (stopping || room() <= 0) extra.push(c.id);
          else drive(c, at);
        }
        if (extra.length) await releaseLeases(em(), owner, extra);
        // A full batch may have left more waiting (go on now); a tenant at its share may have some waiting (look again when a drive ends).
        if (claimed.length === limit) pollAgain = backlog = true;
        if (fullTenants().length) backlog = true;
      } while (pollAgain && !stopping);
    } catch (err) {
      if (!opts.availability?.report(err)) log.warn({ err }, 'polling for waiting sessions failed');
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

  let renewing = false;
  /** Stops drives whose lease may have run out; then renews the rest (one statement, never two at once). */
  const renew = async () => {
    // Checked before renewing: a renewal that hangs (database out of reach) must not keep a drive going.
    const now = Date.now();
    for (const [id, entry] of running) {
      if (entry.heldUntil < now && !entry.abort.signal.aborted) {
        log.warn({ sessionId: id }, 'could not renew a session lease in time; stopping the session here');
        entry.abort.abort(new Error('lease not renewed'));
      }
    }
    const entries = [...running].filter(([, e]) => !e.abort.signal.aborted);
    if (entries.length === 0 || renewing) return;
    renewing = true;
    const at = Date.now();
    try {
      const held = await renewLeases(
        em(),
        owner,
        entries.map(([id]) => id),
        opts.leaseMs,
      );
      for (const [id, entry] of entries) {
        if (held.has(id)) entry.heldUntil = at + opts.leaseMs - safety;
        // Compared by entry: a session released and taken again meanwhile is a new drive, not a lost one.
        else if (running.get(id) === entry && !entry.abort.signal.aborted) {
          log.warn(
            { sessionId: id },
            'lost the lease of a running session (another process took it over); stopping it here',
          );
          entry.abort.abort(new Error('lease lost'));
        }
      }
    } catch (err) {
      if (!opts.availability?.report(err)) log.warn({ err }, 'could not renew session leases');
    } finally {
      renewing = false;
    }
  };

  /** A stop request for an item (NOTIFY, turn-stops.ts): aborts it if this process runs it. */
  const stopItem = (notice: { sessionId: string; itemId: string }) => {
    const entry = running.get(notice.sessionId);
    if (!entry || entry.stopped.has(notice.itemId)) return;
    entry.stopped.add(notice.itemId);
    if (entry.current?.ids.has(notice.itemId)) entry.current.stop.abort(new Error('stopped'));
  };
  const onStop = (payload: string) => {
    const notice = parseStopNotice(payload);
    if (notice) stopItem(notice);
  };
  let checkingStops = false;
  /** With the poll: stop requests whose NOTIFY was missed (LISTEN reconnecting, no notifications) are read from the rows. */
  const checkStops = async () => {
    const busy = [...running].filter(([, e]) => e.current && !e.current.stop.signal.aborted).map(([id]) => id);
    if (busy.length === 0 || checkingStops) return;
    checkingStops = true;
    try {
      for (const s of await stoppedItems(em(), busy)) stopItem({ sessionId: s.sessionId, itemId: s.id });
    } catch (err) {
      if (!opts.availability?.report(err)) log.warn({ err }, 'could not look for stop requests');
    } finally {
      checkingStops = false;
    }
  };

  let unsubscribe: (() => void) | undefined;
  let unsubscribeStops: (() => void) | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  const start = () => {
    if (started || stopping) return;
    started = true;
    unsubscribe = opts.notifications?.subscribe(TURN_CHANNEL, (sessionId) => void tryClaim(sessionId));
    unsubscribeStops = (opts.stops ?? opts.notifications)?.subscribe(STOP_CHANNEL, onStop);
    pollTimer = setInterval(() => {
      void poll();
      void checkStops();
    }, opts.pollMs ?? 1000);
    renewTimer = setInterval(() => void renew(), Math.max(100, Math.round(opts.leaseMs / 3)));
    pollTimer.unref();
    renewTimer.unref();
    schedulePoll();
    log.debug({ owner, concurrency: opts.concurrency, leaseMs: opts.leaseMs }, 'turn runner started');
  };

  async function shutdown(graceMs: number): Promise<void> {
    stopping = true;
    unsubscribe?.();
    unsubscribeStops?.();
    clearInterval(pollTimer);
    const settled = (ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        Promise.allSettled([...running.values()].map((r) => r.done)).then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), ms);
        }),
      ]).finally(() => clearTimeout(timer));
    };
    if (!(await settled(graceMs))) {
      const left = [...running.keys()];
      log.info({ sessions: left.length }, 'handing unfinished turns back for another process to resume');
      for (const r of running.values()) r.abort.abort(new Error('shutting down'));
      // Tools and platform calls may not heed the abort: give them a moment, not forever.
      await settled(1500);
      await handBack(em(), owner, left).catch((err: unknown) =>
        log.warn({ err }, 'could not hand sessions back; their leases run out instead'),
      );
    }
    clearInterval(renewTimer);
  }

  return {
    owner,
    inFlight: () => running.size,
    start,
    wake: (sessionId) => {
      if (started) void tryClaim(sessionId);
    },
    stop(graceMs = 8000) {
      stopped ??= shutdown(graceMs);
      return stopped;
    },
  };
}
