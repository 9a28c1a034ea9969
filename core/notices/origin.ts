import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { query } from '../db/sql.ts';
import { deliverySchema } from '../conversations/delivery.ts';

/** The conversation that confirmed an order: it hears about the order's progress and outcome. */
export const noticeOriginSchema = z.object({ sessionId: z.uuid(), delivery: deliverySchema });
export type NoticeOrigin = z.infer<typeof noticeOriginSchema>;

/**
 * Points the notices of the tenant's orders in `orderIds` that are now rendering at `origin`,
 * with a fresh progress message and notice. Call it in the transaction that dispatched them.
 */
export async function watchOrders(em: EntityManager, tenantId: string, orderIds: string[], origin: NoticeOrigin): Promise<number> {
  if (orderIds.length === 0) return 0;
  const rows = await query(em,
    `update render_order set notify = ?::jsonb, progress_message = null, notice_sent_at = null, notice_claim = null, progress_seq = progress_seq + 1
     where tenant_id = ? and id = any(?::uuid[]) and status = 'rendering' returning id`,
    [JSON.stringify(origin), tenantId, `{${orderIds.join(',')}}`]);
  return rows.length;
}

/** Order ids named by tool results (`order_id` in their data). */
export function orderIdsOf(results: { data: unknown }[]): string[] {
  const ids = results.map((r) => (r.data as { order_id?: unknown } | null)?.order_id).filter((id): id is string => typeof id === 'string');
  return [...new Set(ids)].filter((id) => z.uuid().safeParse(id).success);
}
