import { Logger as WorkerLogger, parseCronItems, run, type Runner, type Task } from 'graphile-worker';
import type { Logger } from '../logger.ts';
import { createPgPool } from '../db/pool.ts';

/** A running pool of queue workers. */
export type Worker = { stop(): Promise<void> };

export type WorkerOptions = {
  url: string;
  tasks: Record<string, Task>;
  log: Logger;
  concurrency?: number;
  /** Cron lines like `* * * * * expire_actions`. */
  crontab?: { task: string; pattern: string }[];
};

/** Starts graphile-worker in this process (LISTEN/NOTIFY wake-ups). */
export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const log = opts.log.child({ component: 'worker' });
  const logger = new WorkerLogger((scope) => (level, message, meta) => {
    const method = level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
    log[method]({ ...scope, ...meta }, message);
  });
  const concurrency = opts.concurrency ?? 4;
  // Each running session drain holds one client for its session lock; LISTEN, fetching, completing and cron need a few more.
  const pgPool = createPgPool(opts.url, concurrency + 4, (err) => log.warn({ err: err.message }, 'queue connection dropped'));
  const runner: Runner = await run({
    pgPool,
    concurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    logger,
    taskList: opts.tasks,
    parsedCronItems: parseCronItems((opts.crontab ?? []).map((c) => ({ task: c.task, match: c.pattern, identifier: c.task, options: { backfillPeriod: 0 } }))),
  });
  return {
    async stop() {
      await runner.stop();
      await pgPool.end();
    },
  };
}
