import type { EntityManager } from '../db/orm.ts';
import { z } from 'zod';
import { row } from '../db/sql.ts';

/** A row of `siblingWillDerive`'s query. */
const siblingWillDeriveRow = z.object({ one: z.number() });

/**
 * Whether a job finishing now may leave deriving its order's status to a sibling job, because
 * that sibling is certain to finish later and derive then, seeing this job finished: true when
 * the order has another queued or running job that no other transaction is changing right now.
 * That sibling is locked FOR SHARE until the caller's transaction ends, so its own completion (an
 * UPDATE) waits for this commit. With no such sibling — none left open, or every open one being
 * finished concurrently — the caller must derive; deriveOrderStatus serialises those on the
 * order row. Only for an order that is 'rendering' already, which deriving would leave as it is
 * while a sibling is open; skipping saves a wait on the order's row lock per job, which
 * serialised every completion of an order (bench:renders, BENCH_SAMPLE=1). Orders a conversation
 * watches (`notify`) always derive: deriving is what schedules their progress updates.
 */
export async function siblingWillDerive(
  em: EntityManager,
  tenantId: string,
  orderId: string,
  jobId: string,
): Promise<boolean> {
  const sibling = await row(
    em,
    siblingWillDeriveRow,
    `select 1 as one from render_job j where j.tenant_id = ? and j.order_id = ? and j.id <> ? and j.status in ('queued', 'running')
       and exists (select 1 from render_order o where o.tenant_id = j.tenant_id and o.id = j.order_id and o.status = 'rendering' and o.notify is null)
     limit 1 for share of j skip locked`,
    [tenantId, orderId, jobId],
  );
  return sibling !== undefined;
}
