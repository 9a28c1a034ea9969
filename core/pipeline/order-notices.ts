import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import type { SentMessage } from '../replies/delivery.ts';

/*
 * The notice columns of render_order (`notify`, `progress_message`, `progress_seq`,
 * `notice_claim`, `notice_sent_at`), written here for core/notices, which decides when. One
 * statement each, as before; core/pipeline owns the table.
 */

/** An order of a tenant. */
type OrderRef = { tenantId: string; orderId: string };

/**
 * Points the notices of the tenant's rendering orders in `orderIds` at `origin`, with a fresh
 * progress message and notice; returns how many orders it pointed.
 */
export async function pointOrderNotices(
  em: EntityManager,
  tenantId: string,
  orderIds: string[],
  origin: Record<string, unknown>,
): Promise<number> {
  const watched = await db(em)
    .updateTable('render_order')
    .set((eb) => ({
      notify: origin,
      progressMessage: null,
      noticeSentAt: null,
      noticeClaim: null,
      progressSeq: eb('progressSeq', '+', 1),
    }))
    .where('tenant', '=', tenantId)
    .where('id', 'in', orderIds)
    .where('status', '=', 'rendering')
    .executeTakeFirst();
  return Number(watched.numUpdatedRows);
}

/**
 * Claims the next `progress_seq` of a watched order (`whileRendering`: only while it renders);
 * returns the claim and the progress message recorded so far, or undefined.
 */
export async function claimProgressSeq(
  em: EntityManager,
  order: OrderRef,
  opts: { whileRendering: boolean },
): Promise<{ progressSeq: number; progressMessage: unknown } | undefined> {
  return db(em)
    .updateTable('render_order')
    .set((eb) => ({ progressSeq: eb('progressSeq', '+', 1) }))
    .where('tenant', '=', order.tenantId)
    .where('id', '=', order.orderId)
    .where('notify', 'is not', null)
    .$if(opts.whileRendering, (q) => q.where('status', '=', 'rendering'))
    .returning(['progressSeq', 'progressMessage'])
    .executeTakeFirst();
}

/** Records the progress message `sent` (undefined: keeps the recorded one) if `progressSeq` is still the latest claim. */
export async function recordProgressMessage(
  em: EntityManager,
  order: OrderRef,
  progressSeq: number,
  sent: SentMessage | undefined,
): Promise<boolean> {
  const recorded = await db(em)
    .updateTable('render_order')
    .set((eb) => ({ progressMessage: sent ?? eb.ref('progressMessage') }))
    .where('tenant', '=', order.tenantId)
    .where('id', '=', order.orderId)
    .where('progressSeq', '=', progressSeq)
    .executeTakeFirst();
  return recorded.numUpdatedRows > 0n;
}

/** Claims the completion notice of a finished, watched order not yet notified; returns its `notify`, or undefined. */
export async function claimCompletionNotice(
  em: EntityManager,
  order: OrderRef,
  claim: string,
): Promise<{ notify: unknown } | undefined> {
  return db(em)
    .updateTable('render_order')
    .set({ noticeClaim: claim })
    .where('tenant', '=', order.tenantId)
    .where('id', '=', order.orderId)
    .where('noticeSentAt', 'is', null)
    .where('notify', 'is not', null)
    .where('status', 'in', ['completed', 'failed'])
    .where((eb) => eb.or([eb('noticeClaim', 'is', null), eb('noticeClaim', '=', claim)]))
    .returning('notify')
    .executeTakeFirst();
}

/** Gives a completion notice claim up (the send failed; a retry claims it again). */
export async function releaseCompletionNotice(em: EntityManager, order: OrderRef, claim: string): Promise<void> {
  await db(em)
    .updateTable('render_order')
    .set({ noticeClaim: null })
    .where('tenant', '=', order.tenantId)
    .where('id', '=', order.orderId)
    .where('noticeClaim', '=', claim)
    .execute();
}

/** Records the completion notice as sent, under its claim. */
export async function markCompletionNoticeSent(
  em: EntityManager,
  order: OrderRef,
  claim: string,
  now: Date,
): Promise<void> {
  await db(em)
    .updateTable('render_order')
    .set({ noticeSentAt: now, noticeClaim: null })
    .where('tenant', '=', order.tenantId)
    .where('id', '=', order.orderId)
    .where('noticeClaim', '=', claim)
    .execute();
}
