import { query } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { jobStatuses, orderStatuses, type OrderStatus } from './statuses.ts';
import { totalJobs, type JobCounts } from './orders-read.ts';

/** Number of UTC calendar days (ending today) that the throughput window covers. */
export const statsWindowDays = 30;

/** Completed and failed jobs of one UTC day. */
export type DayThroughput = { day: string; completed: number; failed: number };

/** A tenant's render pipeline in numbers. */
export type RenderStats = {
  orders: Record<OrderStatus, number> & { total: number };
  jobs: JobCounts & { total: number };
  window: {
    /** First and last UTC day (YYYY-MM-DD) of the window; `to` is the day of `now`. */
    from: string;
    to: string;
    days: number;
    completed: number;
    failed: number;
    /** failed / (completed + failed) of jobs finished in the window, 0..1; null when none finished. */
    failure_rate: number | null;
    /** Mean finished_at − started_at of jobs completed in the window, in seconds; null when none. */
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

/**
 * Orders and jobs by status, and the last 30 days' throughput, failure rate and mean render
 * time, all of `tenantId`. The job counts read only render_job_tenant_status_idx and the window
 * reads render_job_tenant_finished_idx by range (see the lead's note on a covering index).
 */
export async function getRenderStats(em: EntityManager, tenantId: string, now: Date): Promise<RenderStats> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (statsWindowDays - 1) * dayMs);
  const until = new Date(today + dayMs);

  const [orderRows, jobRows, dayRows] = await Promise.all([
    query<{ status: OrderStatus; n: string }>(em,
      `select status, count(*) as n from render_order where tenant_id = ? group by status`, [tenantId]),
    // One index-only count per status instead of a group-by over the whole index: same pages,
    // but each count is a tight range scan the planner cannot turn into a seq scan + hash.
    query<{ status: string; n: string }>(em,
      `select s.status, (select count(*) from render_job j where j.tenant_id = ? and j.status = s.status) as n
       from (values ${jobStatuses.map((st) => `('${st}')`).join(', ')}) as s(status)`, [tenantId]),
    query<{ day: string; completed: string; failed: string; duration_sum: number | null; timed: string }>(em,
      `select to_char(j.finished_at at time zone 'UTC', 'YYYY-MM-DD') as day,
              count(*) filter (where j.status = 'completed') as completed,
              count(*) filter (where j.status = 'failed') as failed,
              sum(extract(epoch from j.finished_at - j.started_at)) filter (where j.status = 'completed' and j.started_at is not null)::float8 as duration_sum,
              count(*) filter (where j.status = 'completed' and j.started_at is not null) as timed
       from render_job j
       where j.tenant_id = ? and j.finished_at is not null and j.finished_at >= ?::timestamptz and j.finished_at < ?::timestamptz
       group by 1`,
      [tenantId, from.toISOString(), until.toISOString()]),
  ]);

  const orders = Object.fromEntries(orderStatuses.map((s) => [s, 0])) as Record<OrderStatus, number>;
  for (const r of orderRows) orders[r.status] = Number(r.n);
  const jobs: JobCounts = { queued: 0, running: 0, completed: 0, failed: 0 };
  for (const r of jobRows) jobs[r.status as keyof JobCounts] = Number(r.n);

  const byDay = new Map(dayRows.map((r) => [r.day, r]));
  const perDay: DayThroughput[] = [];
  let completed = 0;
  let failed = 0;
  let durationSum = 0;
  let timed = 0;
  for (let t = from.getTime(); t < until.getTime(); t += dayMs) {
    const day = utcDay(new Date(t));
    const row = byDay.get(day);
    const d = { day, completed: Number(row?.completed ?? 0), failed: Number(row?.failed ?? 0) };
    perDay.push(d);
    completed += d.completed;
    failed += d.failed;
    durationSum += Number(row?.duration_sum ?? 0);
    timed += Number(row?.timed ?? 0);
  }
  const finished = completed + failed;
  return {
    orders: { ...orders, total: Object.values(orders).reduce((a, b) => a + b, 0) },
    jobs: { ...jobs, total: totalJobs(jobs) },
    window: {
      from: utcDay(from),
      to: utcDay(new Date(today)),
      days: statsWindowDays,
      completed,
      failed,
      failure_rate: finished === 0 ? null : Math.round((failed / finished) * 10_000) / 10_000,
      avg_render_seconds: timed === 0 ? null : Math.round((durationSum / timed) * 10) / 10,
      per_day: perDay,
    },
  };
}
