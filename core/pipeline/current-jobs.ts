/**
 * SQL CTE `cur`: the current render job of each item of one order — its one job that is not
 * failed (dispatch only re-queues items whose jobs all failed), else its newest failed one.
 * Parameters: tenant id, order id. Order status, progress and notices all count these.
 */
export const currentJobs = `cur as (
  select distinct on (j.order_item_id) j.id, j.order_item_id, j.product_id, j.status, j.error, j.attempts, j.result_url, j.queued_at, j.started_at, j.finished_at
  from render_job j where j.tenant_id = ? and j.order_id = ?
  order by j.order_item_id, (j.status = 'failed'), j.queued_at desc)`;
