import { hostname } from 'node:os';
import type pg from 'pg';

/*
 * Crashed-worker recovery for graphile-worker 0.18. A process that dies without shutting down
 * (SIGKILL, OOM, power loss) leaves its jobs and named queues locked, and graphile-worker only
 * clears such locks after 4 hours (its heartbeat-based recovery is a Worker Pro feature). So each
 * worker pool writes a heartbeat to `queue_worker`, and every live pool sweeps now and then: the
 * locks of a registered pool whose heartbeat is older than `deadAfterMs` are released with
 * graphile-worker's own `force_unlock_workers` and its jobs rescheduled with the queue's
 * exponential backoff (so a job that kills its worker cannot kill the next one at once).
 * Timestamps are the database's clock, so the processes' clocks never have to agree.
 */

/** How often a pool writes its heartbeat and how often it sweeps, as fractions of `deadAfterMs`. */
export function livenessTimings(deadAfterMs: number): { heartbeatMs: number; sweepMs: number } {
  return {
    heartbeatMs: Math.max(200, Math.round(deadAfterMs / 6)),
    sweepMs: Math.max(500, Math.round(deadAfterMs / 4)),
  };
}

/** Records that pool `workerId` (graphile-worker's pool id, the jobs' `locked_by`) is alive now. */
export async function heartbeat(pool: pg.Pool, workerId: string): Promise<void> {
  await pool.query(
    `insert into queue_worker (id, host, pid) values ($1, $2, $3)
     on conflict (id) do update set last_seen_at = now()`,
    [workerId, hostname(), process.pid],
  );
}

/** Removes pool `workerId` after it shut down cleanly (graphile-worker released its locks itself). */
export async function forgetWorker(pool: pg.Pool, workerId: string): Promise<void> {
  await pool.query(`delete from queue_worker where id = $1`, [workerId]);
}

/** What one sweep released. */
export type SweepResult = { deadWorkers: string[]; releasedJobs: number };

/**
 * Releases the locks of every registered pool that has not written a heartbeat for
 * `deadAfterMs` and reschedules their jobs with backoff (the attempt that died still counts, so
 * a job with no attempts left stays failed), then forgets those pools. One transaction; a sweep
 * that finds another one running skips (they would do the same work). A pool that was only
 * partitioned from the database and comes back re-registers with its next heartbeat; its
 * released job may then run twice, which the tasks tolerate (render claims are compare-and-set).
 */
export async function sweepDeadWorkers(pool: pg.Pool, deadAfterMs: number): Promise<SweepResult> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const {
      rows: [lock],
    } = await client.query<{ ok: boolean }>(
      `select pg_try_advisory_xact_lock(hashtext('renderbot.queue_worker.sweep')) as ok`,
    );
    if (!lock?.ok) {
      await client.query('rollback');
      return { deadWorkers: [], releasedJobs: 0 };
    }
    const { rows: dead } = await client.query<{ id: string }>(
      `select id from queue_worker where last_seen_at < now() - make_interval(secs => $1::float8 / 1000) for update`,
      [deadAfterMs],
    );
    const ids = dead.map((d) => d.id);
    let releasedJobs = 0;
    if (ids.length > 0) {
      const { rows: jobs } = await client.query<{ id: string }>(
        `select id from graphile_worker.jobs where locked_by = any($1::text[])`,
        [ids],
      );
      await client.query(`select graphile_worker.force_unlock_workers($1::text[])`, [ids]);
      // The same backoff graphile-worker applies to a failed attempt: exp(min(attempts, 10)) seconds.
      await client.query(
        `select graphile_worker.reschedule_jobs(array[j.id], run_at => greatest(j.run_at, now()) + exp(least(j.attempts, 10)) * interval '1 second')
         from graphile_worker.jobs j where j.id = any($1::bigint[])`,
        [jobs.map((j) => j.id)],
      );
      await client.query(`delete from queue_worker where id = any($1::text[])`, [ids]);
      releasedJobs = jobs.length;
    }
    await client.query('commit');
    return { deadWorkers: ids, releasedJobs };
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
