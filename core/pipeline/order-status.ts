import { sql } from 'kysely';
import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { sqlRow } from '../db/sql.ts';
import { currentJobs } from './current-jobs.ts';
import { orderStatuses, type OrderStatus } from './statuses.ts';

/** A row of `setStatusFromJobs`'s statement. */
const derivedStatusRow = z.object({ status: z.enum(orderStatuses) });

/**
 * Sets the order's status from the current job of each item (`currentJobs`), in one statement:
 * all completed → 'completed' (completed_at set); any failed and none queued/running → 'failed';
 * else 'rendering'. Drafts and cancelled orders are left alone (undefined). core/renders calls it
 * when a job changed (`deriveOrderStatus`), with the order locked.
 */
export async function setStatusFromJobs(
  em: EntityManager,
  tenantId: string,
  orderId: string,
  now: Date,
): Promise<OrderStatus | undefined> {
  const at = now.toISOString();
  const derived = await sqlRow(
    em,
    derivedStatusRow,
    // An open (queued/running) job is always its item's current job, so "still rendering" is one
    // index probe; the current jobs are only looked through once none is open (per order, once).
    sql`with ${currentJobs(tenantId, orderId)},
     d as (
       select case when exists (select 1 from render_job j where j.tenant_id = ${tenantId} and j.order_id = ${orderId} and j.status in ('queued', 'running')) then 'rendering'
                   when exists (select 1 from cur where status = 'failed') then 'failed'
                   else 'completed' end as next)
     update render_order o set status = d.next,
            completed_at = case when d.next = 'completed' then coalesce(o.completed_at, ${at}::timestamptz) else null end,
            updated_at = ${at}::timestamptz
     from d
     where o.tenant_id = ${tenantId} and o.id = ${orderId} and o.status in ('submitted', 'rendering', 'completed', 'failed')
     returning o.status`,
  );
  return derived?.status;
}
