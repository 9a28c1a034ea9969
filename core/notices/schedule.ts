import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { enqueue } from '../queue/queue.ts';
import { noticeOriginSchema } from './origin.ts';

/** Queue task that edits an order's progress message. */
export const progressTaskName = 'order_progress';
/** Queue task that posts an order's completion notice. */
export const noticeTaskName = 'order_notice';
/** The progress message is edited at most this often. */
const progressIntervalMs = 3000;

export const noticeJobSchema = z.object({ tenantId: z.uuid(), orderId: z.uuid() });

/**
 * Queues the notices an order status change calls for, in the transaction that changed it: a
 * completion notice when the order reaches completed or failed, else a progress update at most
 * every `progressIntervalMs` (one pending job per order whose run time is kept).
 */
export async function scheduleNotices(
  em: EntityManager,
  change: { tenantId: string; orderId: string; notify: unknown; previous: string; next: string | undefined },
  now: Date,
): Promise<void> {
  if (!noticeOriginSchema.safeParse(change.notify).success || !change.next) return;
  const payload = { tenantId: change.tenantId, orderId: change.orderId };
  if (change.next === 'completed' || change.next === 'failed') {
    if (change.previous !== change.next)
      await enqueue(em, noticeTaskName, payload, { jobKey: `${noticeTaskName}:${change.orderId}`, maxAttempts: 5 });
  } else if (change.next === 'rendering') {
    await enqueue(em, progressTaskName, payload, {
      jobKey: `${progressTaskName}:${change.orderId}`,
      jobKeyMode: 'preserve_run_at',
      maxAttempts: 3,
      runAt: new Date(now.getTime() + progressIntervalMs),
    });
  }
}
