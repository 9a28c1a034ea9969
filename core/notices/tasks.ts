import type { Task } from 'graphile-worker';
import type { Deliverer } from '../conversations/delivery.ts';
import { queueHistoryNote } from '../conversations/history-note.ts';
import type { EntityManager, Orm } from '../db/orm.ts';
import { queryOne } from '../db/sql.ts';
import type { Logger } from '../logger.ts';
import type { RenderLinks } from '../renders/signing.ts';
import type { Platform } from '../tenancy/roles.ts';
import { completionReply, progressReply } from './compose.ts';
import { noticeOriginSchema, type NoticeOrigin } from './origin.ts';
import { noticeJobSchema, noticeTaskName, progressTaskName } from './schedule.ts';

export type NoticeDeps = { orm: Orm; log: Logger; deliverers: ReadonlyMap<Platform, Deliverer>; renderLinks: RenderLinks; now: () => Date };

/**
 * The queue tasks that tell the confirming conversation about its order: `order_progress` posts
 * one progress message and then edits it in place; `order_notice` posts the completion notice,
 * brings the progress message to its final state and queues the notice into the session's
 * history. Both run in a transaction holding the order's notice lock, so a late progress edit
 * never overwrites the final state, and the notice is claimed (`notice_sent_at`) in that same
 * transaction: sent once, also with several workers, and claimed again by the queue's retry if
 * the platform refused it (the failed transaction undid the claim).
 */
export function createNoticeTasks(deps: NoticeDeps): Record<string, Task> {
  const log = deps.log.child({ component: 'notices' });
  const delivererOf = (origin: NoticeOrigin) => {
    const deliverer = deps.deliverers.get(origin.delivery.platform);
    if (!deliverer) throw new Error(`no deliverer for ${origin.delivery.platform}`);
    return deliverer;
  };
  const underOrderLock = <T>(orderId: string, work: (tx: EntityManager) => Promise<T>) => deps.orm.em.fork().transactional(async (tx) => {
    await tx.execute(`select pg_advisory_xact_lock(hashtext('order_notice'), hashtext(?))`, [orderId]);
    return work(tx);
  });

  async function updateProgress(tx: EntityManager, tenantId: string, orderId: string, origin: NoticeOrigin, previous: unknown): Promise<void> {
    const reply = await progressReply(tx, tenantId, orderId);
    const replace = previous && typeof previous === 'object' ? previous as Record<string, unknown> : undefined;
    const sent = await delivererOf(origin)(origin.delivery.target, reply, { sessionId: origin.sessionId, ...(replace ? { replace } : {}) });
    if (sent && JSON.stringify(sent) !== JSON.stringify(replace)) {
      await tx.execute(`update render_order set progress_message = ?::jsonb where tenant_id = ? and id = ?`, [JSON.stringify(sent), tenantId, orderId]);
    }
  }

  const progress: Task = async (payload) => {
    const { tenantId, orderId } = noticeJobSchema.parse(payload);
    await underOrderLock(orderId, async (tx) => {
      const row = await queryOne<{ status: string; notify: unknown; progress_message: unknown }>(tx,
        `select status, notify, progress_message from render_order where tenant_id = ? and id = ?`, [tenantId, orderId]);
      const origin = noticeOriginSchema.safeParse(row?.notify);
      // A finished order's progress message is brought to its end by the completion notice.
      if (!row || row.status !== 'rendering' || !origin.success) return;
      await updateProgress(tx, tenantId, orderId, origin.data, row.progress_message);
    });
  };

  const notice: Task = async (payload) => {
    const { tenantId, orderId } = noticeJobSchema.parse(payload);
    const sent = await underOrderLock(orderId, async (tx) => {
      const claimed = await queryOne<{ notify: unknown; progress_message: unknown }>(tx,
        `update render_order set notice_sent_at = ?::timestamptz
         where tenant_id = ? and id = ? and notice_sent_at is null and notify is not null and status in ('completed', 'failed')
         returning notify, progress_message`, [deps.now().toISOString(), tenantId, orderId]);
      if (!claimed) return undefined;
      const origin = noticeOriginSchema.parse(claimed.notify);
      if (claimed.progress_message) {
        await updateProgress(tx, tenantId, orderId, origin, claimed.progress_message).catch((err: unknown) => log.warn({ err, orderId }, 'could not finish the progress message'));
      }
      const reply = await completionReply(tx, tenantId, orderId, deps.renderLinks, deps.now());
      await delivererOf(origin)(origin.delivery.target, reply, { sessionId: origin.sessionId });
      await queueHistoryNote(tx, { tenantId, sessionId: origin.sessionId, reply });
      return origin;
    });
    if (sent) log.info({ orderId, sessionId: sent.sessionId, platform: sent.delivery.platform }, 'completion notice sent');
  };

  return { [progressTaskName]: progress, [noticeTaskName]: notice };
}
