import { z } from 'zod';
import { sql } from 'kysely';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { row } from '../db/sql.ts';
import { ellipsize, oneLine } from '../replies/format.ts';
import { jobStatuses } from './statuses.ts';

/*
 * The statements that move a render job through its states once dispatched, one each, for
 * core/renders (the worker, the farm callback and its timeouts): core/pipeline owns render_job.
 */

/** A row of `claimJob`'s query. */
const claimJobRow = z.object({ attempts: z.number() });

/**
 * Claims job `jobId` of `tenantId` for one attempt: queued → running, attempts+1, started_at.
 * With `reclaimRunning` (the queue retries a job whose previous attempt died mid-way) a job left
 * 'running' is claimed again. Returns the attempt number, or null when the job is not claimable
 * (done, failed, cancelled, or running elsewhere).
 */
export async function claimJob(
  em: EntityManager,
  tenantId: string,
  jobId: string,
  opts: { reclaimRunning: boolean; now: Date },
): Promise<number | null> {
  const claimed = await row(
    em,
    claimJobRow,
    `update render_job j set status = 'running', attempts = j.attempts + 1, started_at = ?::timestamptz, finished_at = null
     from render_order o
     where j.id = ? and j.tenant_id = ? and o.id = j.order_id and o.status <> 'cancelled'
       and (j.status = 'queued' or (? and j.status = 'running'))
     returning j.attempts`,
    [opts.now.toISOString(), jobId, tenantId, opts.reclaimRunning],
  );
  return claimed ? claimed.attempts : null;
}

/** running (or queued, for farm callbacks that overtake the claim) → completed; false when the job was not open. */
export async function completeJob(
  em: EntityManager,
  tenantId: string,
  jobId: string,
  resultUrl: string,
  now: Date,
): Promise<boolean> {
  const done = await db(em)
    .updateTable('render_job')
    .set({ status: 'completed', resultUrl, error: null, finishedAt: now })
    .where('id', '=', jobId)
    .where('tenant', '=', tenantId)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return done.numUpdatedRows > 0n;
}

/** Marks an open job failed for good with `reason`; false when it was not open. */
export async function failJob(
  em: EntityManager,
  tenantId: string,
  jobId: string,
  reason: string,
  now: Date,
): Promise<boolean> {
  const failed = await db(em)
    .updateTable('render_job')
    .set({ status: 'failed', error: clipError(reason), finishedAt: now })
    .where('id', '=', jobId)
    .where('tenant', '=', tenantId)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return failed.numUpdatedRows > 0n;
}

/** A row of `failAttempt`'s query. */
const failAttemptRow = z.object({ status: z.enum(jobStatuses) });

/**
 * Records a failed attempt of a running job: back to 'queued' with the error when attempts
 * remain (the queue retries with backoff), else 'failed' with the reason.
 */
export async function failAttempt(
  em: EntityManager,
  tenantId: string,
  jobId: string,
  reason: string,
  maxAttempts: number,
  now: Date,
): Promise<'retry' | 'failed' | 'gone'> {
  const attempt = await row(
    em,
    failAttemptRow,
    `update render_job set status = case when attempts < ? then 'queued' else 'failed' end, error = ?,
            finished_at = case when attempts < ? then null else ?::timestamptz end
     where id = ? and tenant_id = ? and status = 'running' returning status`,
    [maxAttempts, clipError(reason), maxAttempts, now.toISOString(), jobId, tenantId],
  );
  if (!attempt) return 'gone';
  return attempt.status === 'queued' ? 'retry' : 'failed';
}

function clipError(reason: string): string {
  return ellipsize(oneLine(reason).trim() || 'unknown error', 500);
}

/** Starts (or restarts) the farm's time to report back on job `jobId`'s running attempt. */
export async function noteFarmContact(em: EntityManager, jobId: string, now: Date): Promise<void> {
  await db(em)
    .updateTable('render_job')
    .set({ farmContactAt: now })
    .where('id', '=', jobId)
    .where('status', '=', 'running')
    .execute();
}

/** Stops the farm's clock on jobs `jobIds` (their timed-out attempts were handled). */
export async function clearFarmContact(em: EntityManager, jobIds: string[]): Promise<void> {
  await db(em).updateTable('render_job').set({ farmContactAt: null }).where('id', 'in', jobIds).execute();
}

/** The farm reported job `jobId` running: running (started once), and its time to report back restarts. */
export async function markFarmRunning(em: EntityManager, jobId: string, now: Date): Promise<void> {
  await db(em)
    .updateTable('render_job')
    .set({ status: 'running', startedAt: sql<Date>`coalesce(started_at, ${now})`, farmContactAt: now })
    .where('id', '=', jobId)
    .where('status', 'in', ['queued', 'running'])
    .execute();
}
