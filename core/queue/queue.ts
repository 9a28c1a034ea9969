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
  /** Deduplicates jobs that are still pending. */
  jobKey?: string;
  /** What adding a job whose key is pending does: 'replace' (default) moves it to the new run_at, 'preserve_run_at' keeps its time (throttling). */
  jobKeyMode?: 'replace' | 'preserve_run_at';
  maxAttempts?: number;
  runAt?: Date;
};

/**
 * Adds a job inside the caller's transaction (graphile_worker.add_job), so a job exists
 * exactly when the rows written with it commit. No named queues: graphile-worker locks every
 * named-queue row on each fetch, so serial work per session goes through session-inbox.ts.
 */
export async function enqueue(
  em: EntityManager,
  task: string,
  payload: unknown,
  opts: EnqueueOptions = {},
): Promise<void> {
  await em.execute(
    `select graphile_worker.add_job(?, ?::json, run_at => ?::timestamptz, max_attempts => ?, job_key => ?, job_key_mode => ?)`,
    [
      task,
      JSON.stringify(payload),
      opts.runAt?.toISOString() ?? null,
      opts.maxAttempts ?? null,
      opts.jobKey ?? null,
      opts.jobKeyMode ?? null,
    ],
  );
}
