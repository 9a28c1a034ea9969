import type { EntityManager } from '../db/orm.ts';
import { queryOne } from '../db/sql.ts';

/**
 * Whether a job finishing now may leave deriving its order's status to a sibling job, because
 * that sibling is certain to finish later and derive then, seeing this job finished: true when
 * the order has another queued or running job that no other transaction is changing right now.
 * That sibling is locked FOR SHARE until the caller's transaction ends, so its own completion (an
 * UPDATE) waits for this commit. With no such sibling — none left open, or every open one being
 * finished concurrently — the caller must derive; deriveOrderStatus serialises those on the
 * order row. While any sibling is open the order stays 'rendering' either way, so skipping saves
 * a wait on that row lock per job, the queue's bottleneck on big orders (bench:renders).
 */
export async function siblingWillDerive(em: EntityManager, tenantId: string, orderId: string, jobId: string): Promise<boolean> {
  const row = await queryOne(em,
    `select 1 from render_job where tenant_id = ? and order_id = ? and id <> ? and status in ('queued', 'running')
     limit 1 for share skip locked`,
    [tenantId, orderId, jobId]);
  return row !== undefined;
}
