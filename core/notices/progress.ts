import type { Deliverer, SentMessage } from '../replies/delivery.ts';
import type { EntityManager } from '../db/orm.ts';
import { claimProgressSeq, recordProgressMessage } from '../pipeline/order-notices.ts';
import { sentMessageSchema } from '../replies/delivery.ts';
import { progressReply } from './compose.ts';
import type { NoticeOrigin } from './origin.ts';

/** How often a writer shows the progress again after a newer writer came in between. */
const maxProgressRounds = 3;

/** What `syncProgressMessage` may do. */
export type ProgressSync = {
  /** Post the progress message when there is none yet (the progress task); else only edit an existing one (the completion notice). */
  post: boolean;
  /** Only while the order renders (the progress task: a finished order's message is brought to its end by the notice). */
  whileRendering: boolean;
};

/**
 * Brings an order's progress message up to date with no transaction or lock held during the
 * platform call. Each round claims the next `progress_seq`, renders the order's current state,
 * edits (or first posts) the message, and records it only if nobody claimed after it: then its
 * edit was the last to start. A writer that finds a newer claim shows the then current state
 * again, so an edit that was overtaken and landed late — a progress edit after the final one —
 * is always followed by a fresh one. The notice's own claim also forces an in-flight first post
 * to show the final state. Returns false when the rounds ran out (others kept writing).
 */
export async function syncProgressMessage(
  em: EntityManager,
  deliver: Deliverer,
  order: { tenantId: string; orderId: string },
  origin: NoticeOrigin,
  opts: ProgressSync,
): Promise<boolean> {
  let mine: SentMessage | undefined;
  for (let round = 0; round < maxProgressRounds; round++) {
    const claim = await claimProgressSeq(em, order, { whileRendering: opts.whileRendering && round === 0 });
    if (!claim) return true;
    // A message this writer posted in an earlier round that was not recorded is still its own to edit.
    const replace = sentMessageSchema.nullable().parse(claim.progressMessage) ?? mine;
    if (!replace && !opts.post) return true;
    const reply = await progressReply(em, order.tenantId, order.orderId);
    const sent = await deliver(origin.delivery.target, reply, {
      sessionId: origin.sessionId,
      ...(replace ? { replace } : {}),
    });
    mine = sent ?? replace;
    if (await recordProgressMessage(em, order, claim.progressSeq, sent)) return true;
  }
  return false;
}
