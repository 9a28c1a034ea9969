import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { row } from '../db/sql.ts';
import { orderStatuses } from './statuses.ts';

const glanceRow = z.object({
  order_number: z.string().nullable(),
  status: z.enum(orderStatuses).nullable(),
  failed_jobs: z.coerce.number(),
  failed_this_week: z.coerce.number(),
});

/** Where a tenant stands at a glance: its newest order (with its failed jobs) and the jobs that failed in the last 7 days. */
export type TenantGlance = {
  latest?: { number: string; status: string; failedJobs: number };
  failedThisWeek: number;
};

/**
 * One query for the suggestions a new conversation starts with (docs/design.md §12): the newest
 * order by `render_order_tenant_created_idx`, its failed jobs by `render_job_order_status_idx`,
 * and the week's failures from the exact tally (`render_job_tally`, by UTC day).
 */
export async function tenantGlance(em: EntityManager, tenantId: string, now: Date): Promise<TenantGlance> {
  const since = new Date(now.getTime() - 6 * 86_400_000).toISOString().slice(0, 10);
  const r = await row(
    em,
    glanceRow,
    `select o.order_number, o.status,
            coalesce((select count(*) from render_job j where j.order_id = o.id and j.status = 'failed'), 0) as failed_jobs,
            coalesce((select sum(jobs) from render_job_tally t where t.tenant_id = ? and t.status = 'failed' and t.finished_day >= ?::date), 0) as failed_this_week
     from (select 1) one
     left join lateral (select id, order_number, status from render_order where tenant_id = ? order by created_at desc limit 1) o on true`,
    [tenantId, since, tenantId],
  );
  if (!r) return { failedThisWeek: 0 };
  return {
    ...(r.order_number && r.status
      ? { latest: { number: r.order_number, status: r.status, failedJobs: r.failed_jobs } }
      : {}),
    failedThisWeek: r.failed_this_week,
  };
}
