import { sql, type RawBuilder } from 'kysely';

/**
 * SQL CTE `cur`: the current render job of each item of one order — its one job that is not
 * failed (dispatch only re-queues items whose jobs all failed), else its newest failed one.
 * Order status, progress and notices all count these. Built without sorting the order's jobs:
 * the non-failed ones straight from the (order, status) index, plus the newest failed job of
 * items that have nothing else — so a 50,000-job order costs one index range, not a sort of
 * every job.
 */
export function currentJobs(tenantId: string, orderId: string): RawBuilder<unknown> {
  return sql`cur as (
  select j.id, j.order_item_id, j.product_id, j.status, j.error, j.attempts, j.result_url, j.queued_at, j.started_at, j.finished_at
  from render_job j where j.tenant_id = ${tenantId} and j.order_id = ${orderId} and j.status <> 'failed'
  union all
  (select distinct on (f.order_item_id) f.id, f.order_item_id, f.product_id, f.status, f.error, f.attempts, f.result_url, f.queued_at, f.started_at, f.finished_at
   from render_job f where f.tenant_id = ${tenantId} and f.order_id = ${orderId} and f.status = 'failed'
     and not exists (select 1 from render_job k where k.order_item_id = f.order_item_id and k.status <> 'failed')
   order by f.order_item_id, f.queued_at desc))`;
}
