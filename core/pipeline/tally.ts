import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { rows } from '../db/sql.ts';
import { jobStatuses } from './statuses.ts';

/*
 * render_job_tally: deltas of job counts by tenant, status and UTC finishing day, written by
 * statement triggers on render_job (migration Migration20261206000400_render_job_tally) in the
 * same statement as the jobs, so they are exact whoever writes jobs. Reading sums a tenant's
 * deltas; folding (a cron task) replaces them with one row per key, so a read stays small.
 */

const statusRow = z.object({ status: z.enum(jobStatuses), n: z.coerce.number() });
const dayRow = z.object({
  day: z.string(),
  completed: z.coerce.number(),
  failed: z.coerce.number(),
  seconds: z.coerce.number(),
  timed: z.coerce.number(),
});
const foldedRow = z.object({ n: z.coerce.number() });

/** All-time job counts of a tenant by status (statuses without jobs are missing). */
export async function tallyByStatus(em: EntityManager, tenantId: string): Promise<z.infer<typeof statusRow>[]> {
  return rows(
    em,
    statusRow,
    `select status, sum(jobs) as n from render_job_tally where tenant_id = ? group by status`,
    [tenantId],
  );
}

/**
 * Completed and failed jobs per UTC day from `from` to `to` (YYYY-MM-DD, inclusive; days without
 * finished jobs are missing), with the render seconds and count of the completed ones that have a
 * start time.
 */
export async function tallyByDay(
  em: EntityManager,
  tenantId: string,
  from: string,
  to: string,
): Promise<z.infer<typeof dayRow>[]> {
  return rows(
    em,
    dayRow,
    `select to_char(finished_day, 'YYYY-MM-DD') as day,
            coalesce(sum(jobs) filter (where status = 'completed'), 0) as completed,
            coalesce(sum(jobs) filter (where status = 'failed'), 0) as failed,
            coalesce(sum(render_seconds), 0) as seconds, coalesce(sum(timed), 0) as timed
     from render_job_tally where tenant_id = ? and finished_day between ?::date and ?::date
     group by finished_day`,
    [tenantId, from, to],
  );
}

/**
 * Folds the deltas of every key that has more than one into one row per (tenant, status, day),
 * in one statement: deltas written meanwhile by transactions this statement does not see stay as
 * they are, and keys that add up to nothing go. Returns how many delta rows it folded.
 */
export async function foldTally(em: EntityManager): Promise<number> {
  const [row] = await rows(
    em,
    foldedRow,
    `with crowded as (
       select tenant_id, status, finished_day from render_job_tally group by tenant_id, status, finished_day having count(*) > 1
     ), gone as (
       delete from render_job_tally t using crowded c
       where t.tenant_id = c.tenant_id and t.status = c.status and t.finished_day is not distinct from c.finished_day
       returning t.tenant_id, t.status, t.finished_day, t.jobs, t.render_seconds, t.timed
     ), folded as (
       insert into render_job_tally (tenant_id, status, finished_day, jobs, render_seconds, timed)
       select tenant_id, status, finished_day, sum(jobs), sum(render_seconds), sum(timed) from gone
       group by tenant_id, status, finished_day
       having sum(jobs) <> 0 or sum(timed) <> 0
       returning 1
     )
     select (select count(*) from gone) as n`,
  );
  return row?.n ?? 0;
}

/**
 * Counts a tenant's jobs into the tally afresh, replacing its rows: for jobs written while
 * triggers were off (bulk seeding as a superuser with session_replication_role = replica).
 */
export async function retallyTenant(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute(
    `with gone as (delete from render_job_tally where tenant_id = ? returning 1)
     insert into render_job_tally (tenant_id, status, finished_day, jobs, render_seconds, timed)
     select tenant_id, status, (finished_at at time zone 'UTC')::date, count(*),
            coalesce(sum(extract(epoch from finished_at - started_at)) filter (where status = 'completed' and started_at is not null and finished_at is not null), 0),
            count(*) filter (where status = 'completed' and started_at is not null and finished_at is not null)
     from render_job where tenant_id = ? and (select count(*) from gone) >= 0 group by 1, 2, 3`,
    [tenantId, tenantId],
  );
}
