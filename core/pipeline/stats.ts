import { z } from 'zod';
import { countRow, rows } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { orderStatuses, type OrderStatus } from './statuses.ts';
import { totalJobs, type JobCounts } from './orders-read.ts';
import { tallyByDay, tallyByStatus } from './tally.ts';

/** Number of UTC calendar days (ending today) that the throughput window covers. */
const statsWindowDays = 30;

/** Completed and failed jobs of one UTC day. */
type DayThroughput = { day: string; completed: number; failed: number };

/** A tenant's render pipeline in numbers. */
export type RenderStats = {
  orders: Record<OrderStatus, number> & { total: number };
  /** All-time jobs by status, exact (from render_job_tally, core/pipeline/tally.ts). */
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
    /** Mean finished_at − started_at in seconds of the window's completed jobs that have a start time; null when none. */
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

/** A row of `getRenderStats`'s order count. */
const ordersByStatusRow = countRow.extend({ status: z.enum(orderStatuses) });

/**
 * Orders and jobs by status, and the last 30 UTC days' completed jobs per day, failure rate and
 * mean render time, all of `tenantId`, exact at millions of jobs: job numbers come from the
 * tally the database keeps with the jobs (core/pipeline/tally.ts), a few rows per status and day,
 * never from counting jobs; the queries run in parallel when `em` is not inside a transaction. A
 * finished job is one with finished_at set (completed or failed, by the job lifecycle).
 */
export async function getRenderStats(em: EntityManager, tenantId: string, now: Date): Promise<RenderStats> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (statsWindowDays - 1) * dayMs);

  const [orderRows, jobRows, dayRows] = await Promise.all([
    rows(em, ordersByStatusRow, `select status, count(*) as n from render_order where tenant_id = ? group by status`, [
      tenantId,
    ]),
    tallyByStatus(em, tenantId),
    tallyByDay(em, tenantId, utcDay(from), utcDay(new Date(today))),
  ]);
  const orders = Object.fromEntries(orderStatuses.map((st) => [st, 0])) as Record<OrderStatus, number>;
  for (const r of orderRows) orders[r.status] = r.n;
  const jobs: JobCounts = { queued: 0, running: 0, completed: 0, failed: 0 };
  for (const r of jobRows) jobs[r.status] = r.n;

  const byDay = new Map(dayRows.map((r) => [r.day, r]));
  const perDay: DayThroughput[] = Array.from({ length: statsWindowDays }, (_, i) => {
    const day = utcDay(new Date(from.getTime() + i * dayMs));
    return { day, completed: byDay.get(day)?.completed ?? 0, failed: byDay.get(day)?.failed ?? 0 };
  });
  const completed = perDay.reduce((a, d) => a + d.completed, 0);
  const failed = perDay.reduce((a, d) => a + d.failed, 0);
  const finished = completed + failed;
  const timed = dayRows.reduce((a, d) => a + d.timed, 0);
  const seconds = timed > 0 ? dayRows.reduce((a, d) => a + d.seconds, 0) / timed : null;
  return {
    orders: { ...orders, total: Object.values(orders).reduce((a, b) => a + b, 0) },
    jobs: { ...jobs, total: totalJobs(jobs), exact: true },
    window: {
      from: utcDay(from),
      to: utcDay(new Date(today)),
      days: statsWindowDays,
      completed,
      failed,
      failure_rate: finished === 0 ? null : Math.round((failed / finished) * 10_000) / 10_000,
      avg_render_seconds: seconds === null ? null : Math.round(seconds * 10) / 10,
      per_day: perDay,
    },
  };
}
