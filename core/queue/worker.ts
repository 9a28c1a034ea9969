import { EventEmitter } from 'node:events';
import {
  Logger as WorkerLogger,
  parseCronItems,
  run,
  type Runner,
  type Task,
  type WorkerEvents,
} from 'graphile-worker';
import type { DatabaseAvailability } from '../availability.ts';
import type { Logger } from '../logger.ts';
import { createPgPool } from '../db/pool.ts';
import { countingClient } from '../db/statements.ts';
import { QUEUE_EXTRA_CONNECTIONS } from '../config.ts';
import { forgetWorker, heartbeat, livenessTimings, sweepDeadWorkers } from './liveness.ts';

/** A running pool of queue workers. */
export type Worker = {
  /** graphile-worker's pool id: `locked_by` of the jobs this process runs. */
  readonly id: string;
  stop(): Promise<void>;
};

/** Default of WORKER_DEAD_AFTER_SECONDS: a worker silent this long is presumed dead and its jobs released. */
const defaultWorkerDeadAfterMs = 120_000;

export type WorkerOptions = {
  url: string;
  tasks: Record<string, Task>;
  log: Logger;
  concurrency?: number;
  /** Cron lines like `* * * * * expire_actions`. */
  crontab?: { task: string; pattern: string }[];
  /** After how long without a heartbeat another worker's locked jobs are released (default 2 min). */
  deadAfterMs?: number;
  /** Whether the database is reachable: the queue's failures during an outage are not logged one by one. */
  availability?: DatabaseAvailability;
};

/**
 * Starts graphile-worker in this process (LISTEN/NOTIFY wake-ups), with a heartbeat and a sweep
 * that releases the jobs of workers that died (core/queue/liveness.ts).
 */
export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const log = opts.log.child({ component: 'worker' });
  const logger = new WorkerLogger((scope) => (level, message, meta) => {
    const outage = (level === 'error' || level === 'warning') && opts.availability?.report(meta?.error ?? meta?.err);
    const method = outage ? 'debug' : level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
    log[method]({ ...scope, ...meta }, message);
  });
  const concurrency = opts.concurrency ?? 4;
  const deadAfterMs = opts.deadAfterMs ?? defaultWorkerDeadAfterMs;
  // One client per running job; LISTEN, fetching, completing and cron need a few more.
  const pgPool = createPgPool(
    opts.url,
    concurrency + QUEUE_EXTRA_CONNECTIONS,
    (err) => opts.availability?.report(err) || log.warn({ err: err.message }, 'queue connection dropped'),
    { Client: countingClient('queue') },
  );
  const events: WorkerEvents = new EventEmitter();
  let id: string | undefined;
  // Emitted synchronously inside run(), before the pool's workers ask for their first job.
  events.once('pool:create', ({ workerPool }) => {
    id = workerPool.id;
  });
  const runner: Runner = await run({
    pgPool,
    concurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    logger,
    events,
    taskList: opts.tasks,
    parsedCronItems: parseCronItems(
      (opts.crontab ?? []).map((c) => ({
        task: c.task,
        match: c.pattern,
        identifier: c.task,
        options: { backfillPeriod: 0 },
      })),
    ),
  });
  if (!id) throw new Error('graphile-worker did not report its pool id');
  const workerId = id;
  const { heartbeatMs, sweepMs } = livenessTimings(deadAfterMs);
  const beat = () =>
    heartbeat(pgPool, workerId).catch(
      (err: Error) => opts.availability?.report(err) || log.warn({ err: err.message }, 'queue heartbeat failed'),
    );
  const sweep = () =>
    sweepDeadWorkers(pgPool, deadAfterMs).then(
      (r) => {
        if (r.deadWorkers.length) log.warn(r, 'released the jobs of queue workers that stopped sending heartbeats');
      },
      (err: Error) => opts.availability?.report(err) || log.warn({ err: err.message }, 'dead worker sweep failed'),
    );
  await beat();
  const heartbeatTimer = setInterval(beat, heartbeatMs);
  // Jitter keeps the sweeps of workers started together apart.
  const sweepTimer = setInterval(sweep, Math.round(sweepMs * (0.75 + Math.random() / 2)));
  return {
    id: workerId,
    async stop() {
      clearInterval(heartbeatTimer);
      clearInterval(sweepTimer);
      await runner.stop();
      await forgetWorker(pgPool, workerId).catch((err: Error) =>
        log.warn({ err: err.message }, 'could not deregister the queue worker'),
      );
      await pgPool.end();
    },
  };
}
