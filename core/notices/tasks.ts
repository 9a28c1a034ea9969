import type { Task } from 'graphile-worker';
import { appendMessage } from '../agent/messages.ts';
import type { Deliverer } from '../conversations/delivery.ts';
import type { Orm } from '../db/orm.ts';
import { queryOne } from '../db/sql.ts';
import type { Logger } from '../logger.ts';
import { replyText } from '../replies/reply.ts';
import type { RenderLinks } from '../renders/signing.ts';
import type { Platform } from '../tenancy/roles.ts';
import { completionReply, progressReply } from './compose.ts';
import { noticeOriginSchema, type NoticeOrigin } from './origin.ts';
import { noticeJobSchema, noticeTaskName, progressTaskName } from './schedule.ts';

export type NoticeDeps = { orm: Orm; log: Logger; deliverers: ReadonlyMap<Platform, Deliverer>; renderLinks: RenderLinks; now: () => Date };

/**
 * The queue tasks that tell the confirming conversation about its order: `order_progress` posts
 * one progress message and then edits it in place; `order_notice` posts the completion notice
 * once — claimed by setting `notice_sent_at` first, released again if the platform refuses it so
 * the queue retries — records it in the session's history, and brings the progress message to
 * its final state.
 */
export function createNoticeTasks(deps: NoticeDeps): Record<string, Task> {
  const log = deps.log.child({ component: 'notices' });
  const delivererOf = (origin: NoticeOrigin) => {
    const deliverer = deps.deliverers.get(origin.delivery.platform);
    if (!deliverer) throw new Error(`no deliverer for ${origin.delivery.platform}`);
    return deliverer;
  };

  async function updateProgress(tenantId: string, orderId: string, origin: NoticeOrigin, previous: unknown): Promise<void> {
    const reply = await progressReply(deps.orm.em.fork(), tenantId, orderId);
    const replace = previous && typeof previous === 'object' ? previous as Record<string, unknown> : undefined;
    const sent = await delivererOf(origin)(origin.delivery.target, reply, { sessionId: origin.sessionId, ...(replace ? { replace } : {}) });
    if (sent && JSON.stringify(sent) !== JSON.stringify(replace)) {
      await deps.orm.em.fork().execute(`update render_order set progress_message = ?::jsonb where tenant_id = ? and id = ?`, [JSON.stringify(sent), tenantId, orderId]);
    }
  }

  const progress: Task = async (payload) => {
    const { tenantId, orderId } = noticeJobSchema.parse(payload);
    const row = await queryOne<{ status: string; notify: unknown; progress_message: unknown }>(deps.orm.em.fork(),
      `select status, notify, progress_message from render_order where tenant_id = ? and id = ?`, [tenantId, orderId]);
    const origin = noticeOriginSchema.safeParse(row?.notify);
    // A finished order's progress message is brought to its end by the completion notice.
    if (!row || row.status !== 'rendering' || !origin.success) return;
    await updateProgress(tenantId, orderId, origin.data, row.progress_message);
  };

  const notice: Task = async (payload) => {
    const { tenantId, orderId } = noticeJobSchema.parse(payload);
    const em = deps.orm.em.fork();
    const claimed = await queryOne<{ notify: unknown; progress_message: unknown }>(em,
      `update render_order set notice_sent_at = ?::timestamptz
       where tenant_id = ? and id = ? and notice_sent_at is null and notify is not null and status in ('completed', 'failed')
       returning notify, progress_message`, [deps.now().toISOString(), tenantId, orderId]);
    if (!claimed) return;
    const origin = noticeOriginSchema.parse(claimed.notify);
    let reply;
    try {
      if (claimed.progress_message) {
        await updateProgress(tenantId, orderId, origin, claimed.progress_message).catch((err: unknown) => log.warn({ err, orderId }, 'could not finish the progress message'));
      }
      reply = await completionReply(em, tenantId, orderId, deps.renderLinks, deps.now());
      await delivererOf(origin)(origin.delivery.target, reply, { sessionId: origin.sessionId });
    } catch (err) {
      await em.execute(`update render_order set notice_sent_at = null where tenant_id = ? and id = ?`, [tenantId, orderId]);
      throw err;
    }
    await appendMessage(em, { tenantId, sessionId: origin.sessionId, role: 'assistant', content: replyText(reply), reply });
    log.info({ orderId, sessionId: origin.sessionId, platform: origin.delivery.platform }, 'completion notice sent');
  };

  return { [progressTaskName]: progress, [noticeTaskName]: notice };
}
