import { runMigrations } from 'graphile-worker';
import { createPgPool } from '../db/pool.ts';
import type { EntityManager } from '../db/orm.ts';

/** Installs or upgrades graphile-worker's schema in the database (on a pool this function owns and fully closes). */
export async function installQueue(url: string): Promise<void> {
  const pgPool = createPgPool(url, 1);
  try {
    await runMigrations({ pgPool });
  } finally {
    await pgPool.end();
  }
}

export type EnqueueOptions = {
  /** Jobs of one named queue run one at a time, in order. Sessions use their inbox instead (session-inbox.ts): every named queue slows every job fetch. */
  queueName?: string;
  /** Deduplicates jobs that are still pending. */
  jobKey?: string;
  /** What adding a job whose key is pending does: 'replace' (default) moves it to the new run_at, 'preserve_run_at' keeps its time (throttling). */
  jobKeyMode?: 'replace' | 'preserve_run_at';
  maxAttempts?: number;
  runAt?: Date;
};

/**
 * Adds a job inside the caller's transaction (graphile_worker.add_job), so a job exists
 * exactly when the rows written with it commit.
 */
export async function enqueue(em: EntityManager, task: string, payload: unknown, opts: EnqueueOptions = {}): Promise<void> {
  await em.execute(
    `select graphile_worker.add_job(?, ?::json, queue_name => ?, run_at => ?::timestamptz, max_attempts => ?, job_key => ?, job_key_mode => ?)`,
    [task, JSON.stringify(payload), opts.queueName ?? null, opts.runAt?.toISOString() ?? null, opts.maxAttempts ?? null, opts.jobKey ?? null, opts.jobKeyMode ?? null],
  );
}
