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
  /** Jobs of one queue run one at a time in order (DESIGN §4: queue = session). */
  queueName?: string;
  /** Deduplicates jobs that are still pending. */
  jobKey?: string;
  /** What adding a job whose key is pending does: 'replace' (default) moves it to the new run_at, 'preserve_run_at' keeps its time (throttling). */
  jobKeyMode?: 'replace' | 'preserve_run_at';
  maxAttempts?: number;
  runAt?: Date;
};

/** The queue of one conversation session: its turns and notices run one at a time, in order (DESIGN §4). */
export function sessionQueueName(sessionId: string): string {
  return `session:${sessionId}`;
}

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
