import { randomUUID } from 'node:crypto';
import type { Task } from 'graphile-worker';
import type { Deliverer } from '../replies/delivery.ts';
import { queueHistoryNote } from '../history/note.ts';
import type { Orm } from '../db/orm.ts';
import { db } from '../db/kysely.ts';
import { claimCompletionNotice, markCompletionNoticeSent, releaseCompletionNotice } from '../pipeline/order-notices.ts';
import type { Logger } from '../logger.ts';
import type { RenderLinks } from '../renders/signing.ts';
import type { Platform } from '../tenancy/roles.ts';
import { completionReply } from './compose.ts';
import { noticeOriginSchema, type NoticeOrigin } from './origin.ts';
import { syncProgressMessage } from './progress.ts';
import { noticeJobSchema, noticeTaskName, progressTaskName } from './schedule.ts';

export type NoticeDeps = {
  orm: Orm;
  log: Logger;
  deliverers: ReadonlyMap<Platform, Deliverer>;
  renderLinks: RenderLinks;
  now: () => Date;
};

/**
 * The queue tasks that tell the confirming conversation about its order, with no database
 * transaction or lock open while a platform is called (docs/style.md §15). `order_progress` posts one
 * progress message and then edits it in place (core/notices/progress.ts keeps a late edit from
 * having the last word). `order_notice` claims the notice (`notice_claim`, compare-and-set: one
 * job at a time; the same job may take its claim over when the queue runs it again after a
 * crash), brings the progress message to its final state, sends the notice, and then records it
 * (`notice_sent_at`) and queues it into the session's history in one transaction. A refused send
 * releases the claim and fails the job, so the queue's retry sends it. When a process dies
 * between sending and recording, the queue runs the job again: the notice is named (`once`), so
 * a platform that can tag messages (Slack: message metadata) finds the one already posted and
 * does not post it again; elsewhere (Teams) the notice may then appear twice.
 */
export function createNoticeTasks(deps: NoticeDeps): Record<string, Task> {
  const log = deps.log.child({ component: 'notices' });
  const delivererOf = (origin: NoticeOrigin) => {
    const deliverer = deps.deliverers.get(origin.delivery.platform);
    if (!deliverer) throw new Error(`no deliverer for ${origin.delivery.platform}`);
    return deliverer;
  };

  const progress: Task = async (payload) => {
    const order = noticeJobSchema.parse(payload);
    const em = deps.orm.em.fork();
    const row = await db(em)
      .selectFrom('render_order')
      .select('notify')
      .where('tenant', '=', order.tenantId)
      .where('id', '=', order.orderId)
      .where('status', '=', 'rendering')
      .executeTakeFirst();
    const origin = noticeOriginSchema.safeParse(row?.notify);
    if (!origin.success) return;
    const done = await syncProgressMessage(em, delivererOf(origin.data), order, origin.data, {
      post: true,
      whileRendering: true,
    });
    if (!done) log.debug({ orderId: order.orderId }, 'progress message changed by others meanwhile; left to them');
  };

  const notice: Task = async (payload, helpers) => {
    const order = noticeJobSchema.parse(payload);
    const { tenantId, orderId } = order;
    // A run without a queue job (tests, tools) gets a claim of its own.
    const claim = helpers.job?.id ? `job:${helpers.job.id}` : `run:${randomUUID()}`;
    const em = deps.orm.em.fork();
    const claimed = await claimCompletionNotice(em, order, claim);
    if (!claimed) return;
    let origin: NoticeOrigin;
    let reply: Awaited<ReturnType<typeof completionReply>>;
    try {
      origin = noticeOriginSchema.parse(claimed.notify);
      const deliver = delivererOf(origin);
      await syncProgressMessage(em, deliver, order, origin, { post: false, whileRendering: false }).catch(
        (err: unknown) => log.warn({ err, orderId }, 'could not finish the progress message'),
      );
      reply = await completionReply(em, tenantId, orderId, deps.renderLinks, deps.now());
      // A run after the first may follow one that posted the notice and died before recording it.
      const mayHaveSent = (helpers.job?.attempts ?? 1) > 1;
      await deliver(origin.delivery.target, reply, {
        sessionId: origin.sessionId,
        once: { key: `notice:${orderId}`, mayHaveSent },
      });
    } catch (err) {
      await releaseCompletionNotice(em, order, claim);
      throw err;
    }
    await deps.orm.em.fork().transactional(async (tx) => {
      await markCompletionNoticeSent(tx, order, claim, deps.now());
      await queueHistoryNote(tx, { tenantId, sessionId: origin.sessionId, reply });
    });
    log.info({ orderId, sessionId: origin.sessionId, platform: origin.delivery.platform }, 'completion notice sent');
  };

  return { [progressTaskName]: progress, [noticeTaskName]: notice };
}
