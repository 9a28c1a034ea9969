import { z } from 'zod';
import { isUuid } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { pointOrderNotices } from '../pipeline/order-notices.ts';
import { deliverySchema } from '../replies/delivery.ts';

/** The conversation that confirmed an order: it hears about the order's progress and outcome. */
export const noticeOriginSchema = z.object({ sessionId: z.uuid(), delivery: deliverySchema });
export type NoticeOrigin = z.infer<typeof noticeOriginSchema>;

/**
 * Points the notices of the tenant's orders in `orderIds` that are now rendering at `origin`,
 * with a fresh progress message and notice. Call it in the transaction that dispatched them.
 */
export async function watchOrders(
  em: EntityManager,
  tenantId: string,
  orderIds: string[],
  origin: NoticeOrigin,
): Promise<number> {
  if (orderIds.length === 0) return 0;
  return pointOrderNotices(em, tenantId, orderIds, origin);
}

/** The distinct ids of orders tool calls wrote (their `effects.orders`). */
export function orderIdsOf(orders: { id: string }[]): string[] {
  return [...new Set(orders.map((o) => o.id))].filter((id) => isUuid(id));
}
