import type { EntityManager } from '../db/orm.ts';
import { z } from 'zod';
import { db } from '../db/kysely.ts';
import { countRow, row } from '../db/sql.ts';
import { UserInputError } from '../errors.ts';
import { resolveOrder, type OrderRow } from './lookup.ts';
import type { OrderStatus } from './statuses.ts';

/** A cancellation decision: the order and how many of its jobs are queued or running now. */
export type CancelPlan = { order: OrderRow; queued: number; running: number };
/** What `cancelOrder` did. */
export type CancelResult = {
  orderId: string;
  orderNumber: string;
  previousStatus: OrderStatus;
  status: 'cancelled';
  cancelledJobs: number;
  runningJobs: number;
};

/** A row of `planCancel`'s query. */
const planCancelRow = z.object({ queued: z.coerce.number(), running: z.coerce.number() });

/** Validates a cancellation: only draft, submitted and rendering orders can be cancelled. */
export async function planCancel(
  em: EntityManager,
  tenantId: string,
  ref: string,
  opts: { forUpdate?: boolean } = {},
): Promise<CancelPlan> {
  const order = await resolveOrder(em, tenantId, ref, opts);
  if (!['draft', 'submitted', 'rendering'].includes(order.status)) {
    throw new UserInputError(
      'invalid_status',
      `${order.orderNumber} is ${order.status} and can no longer be cancelled.`,
    );
  }
  const c = await row(
    em,
    planCancelRow,
    `select count(*) filter (where status = 'queued') as queued, count(*) filter (where status = 'running') as running
     from render_job where tenant_id = ? and order_id = ?`,
    [tenantId, order.id],
  );
  return { order, queued: c?.queued ?? 0, running: c?.running ?? 0 };
}

/**
 * Cancels order `ref`: the order becomes 'cancelled', its queued jobs fail with "cancelled" and
 * leave the queue; running jobs finish, but the order stays cancelled.
 */
export async function cancelOrder(em: EntityManager, tenantId: string, ref: string, now: Date): Promise<CancelResult> {
  const plan = await planCancel(em, tenantId, ref, { forUpdate: true });
  const at = now.toISOString();
  const jobs = await row(
    em,
    countRow,
    `with c as (
       update render_job set status = 'failed', error = 'cancelled', finished_at = ?::timestamptz
       where tenant_id = ? and order_id = ? and status = 'queued' returning id),
     r as (select graphile_worker.remove_job(id::text) from c)
     select (select count(*) from c) as n, (select count(*) from r) as removed`,
    [at, tenantId, plan.order.id],
  );
  await db(em)
    .updateTable('render_order')
    .set({ status: 'cancelled', updatedAt: now })
    .where('tenant', '=', tenantId)
    .where('id', '=', plan.order.id)
    .execute();
  return {
    orderId: plan.order.id,
    orderNumber: plan.order.orderNumber,
    previousStatus: plan.order.status,
    status: 'cancelled',
    cancelledJobs: jobs?.n ?? 0,
    runningJobs: plan.running,
  };
}
