import { z } from 'zod';
import { countRow, row, rows } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { jobStatuses, orderStatuses, type OrderStatus } from './statuses.ts';
import { totalJobs, type JobCounts } from './orders-read.ts';

/** Number of UTC calendar days (ending today) that the throughput window covers. */
export const statsWindowDays = 30;

/** Completed and failed jobs of one UTC day. */
export type DayThroughput = { day: string; completed: number; failed: number };

/** Per-status job counts stop at this many (then `exact` is false): counting 2M index entries takes ~100 ms. */
export const jobCountCap = 100_000;
/** The mean render time is taken over the completed ones among the window's latest this-many finished jobs. */
export const durationSample = 1000;

/** A tenant's render pipeline in numbers. */
export type RenderStats = {
  orders: Record<OrderStatus, number> & { total: number };
  /** All-time jobs by status; a count that reached `jobCountCap` is reported as `jobCountCap + 1`. */
  jobs: JobCounts & { total: number; exact: boolean };
  window: {
    /** First and last UTC day (YYYY-MM-DD) of the window; `to` is the day of `now`. */
    from: string;
    to: string;
    days: number;
    completed: number;
    failed: number;
    /** failed / (completed + failed) of jobs finished in the window, 0..1; null when none finished. */
    failure_rate: number | null;
    /** Mean finished_at − started_at in seconds of the completed jobs among the window's latest `durationSample` finished ones; null when none. */
    avg_render_seconds: number | null;
    /** One entry per day of the window, oldest first, zeros included. */
    per_day: DayThroughput[];
  };
};

const dayMs = 86_400_000;

/** The UTC date (YYYY-MM-DD) of `date`. */
function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** A row of `getRenderStats`'s query. */
const getRenderStatsRow = z.object({ seconds: z.number().nullable() });

/**
 * Orders and jobs by status, and the last 30 UTC days' completed jobs per day, failure rate and
 * mean render time, all of `tenantId`. Built for millions of jobs per tenant: every job query is
 * an index range scan (render_job_tenant_status_idx, render_job_tenant_finished_idx) that is
 * either index-only or touches only failed jobs or a bounded sample; the queries run in parallel
 * when `em` is not inside a transaction. A finished job is one with finished_at set (completed or
 * failed, by the job lifecycle).
 */
export async function getRenderStats(em: EntityManager, tenantId: string, now: Date): Promise<RenderStats> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (statsWindowDays - 1) * dayMs);
  const until = new Date(today + dayMs);
  const range = [from.toISOString(), until.toISOString()];

  const [orderRows, jobRows, finishedRows, failedRows, duration] = await Promise.all([
    rows(em, countRow.extend({ status: z.enum(orderStatuses) }),
      `select status, count(*) as n from render_order where tenant_id = ? group by status`, [tenantId]),
    rows(em, countRow.extend({ status: z.enum(jobStatuses) }),
      `select s.status, (select count(*) from (select 1 from render_job j where j.tenant_id = ? and j.status = s.status limit ${jobCountCap + 1}) x) as n
       from (values ${jobStatuses.map((st) => `('${st}')`).join(', ')}) as s(status)`, [tenantId]),
    // One index-only range count per UTC day: cheaper than computing a day key for every row.
    rows(em, countRow.extend({ day: z.string() }),
      `select to_char(d.day at time zone 'UTC', 'YYYY-MM-DD') as day,
              (select count(*) from render_job j where j.tenant_id = ? and j.finished_at is not null
                 and j.finished_at >= d.day and j.finished_at < d.day + interval '24 hours') as n
       from generate_series(?::timestamptz, ?::timestamptz, interval '24 hours') as d(day)`,
      [tenantId, range[0], new Date(today).toISOString()]),
    rows(em, countRow.extend({ day: z.string() }),
      `select to_char(j.finished_at at time zone 'UTC', 'YYYY-MM-DD') as day, count(*) as n
       from render_job j where j.tenant_id = ? and j.status = 'failed' and j.finished_at >= ?::timestamptz and j.finished_at < ?::timestamptz
       group by 1`, [tenantId, ...range]),
    row(em, getRenderStatsRow,
      `select avg(extract(epoch from x.finished_at - x.started_at))::float8 as seconds
       from (select j.finished_at, j.started_at, j.status from render_job j
             where j.tenant_id = ? and j.finished_at is not null and j.finished_at >= ?::timestamptz and j.finished_at < ?::timestamptz
             order by j.finished_at desc limit ${durationSample}) x
       where x.status = 'completed' and x.started_at is not null`, [tenantId, ...range]),
  ]);

  const orders = Object.fromEntries(orderStatuses.map((st) => [st, 0])) as Record<OrderStatus, number>;
  for (const r of orderRows) orders[r.status] = r.n;
  const jobs: JobCounts = { queued: 0, running: 0, completed: 0, failed: 0 };
  for (const r of jobRows) jobs[r.status] = r.n;

  const failedByDay = new Map(failedRows.map((r) => [r.day, r.n]));
  const perDay: DayThroughput[] = finishedRows.map((r) => {
    const failed = failedByDay.get(r.day) ?? 0;
    return { day: r.day, completed: r.n - failed, failed };
  });
  const completed = perDay.reduce((a, d) => a + d.completed, 0);
  const failed = perDay.reduce((a, d) => a + d.failed, 0);
  const finished = completed + failed;
  const seconds = duration?.seconds;
  return {
    orders: { ...orders, total: Object.values(orders).reduce((a, b) => a + b, 0) },
    jobs: { ...jobs, total: totalJobs(jobs), exact: Object.values(jobs).every((n) => n <= jobCountCap) },
    window: {
      from: utcDay(from),
      to: utcDay(new Date(today)),
      days: statsWindowDays,
      completed,
      failed,
      failure_rate: finished === 0 ? null : Math.round((failed / finished) * 10_000) / 10_000,
      avg_render_seconds: seconds === null || seconds === undefined ? null : Math.round(seconds * 10) / 10,
      per_day: perDay,
    },
  };
}
