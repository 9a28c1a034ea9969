import type { Actor } from '../turn-scope.ts';
import type { Orm } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import { publicMessage } from '../errors.ts';
import { isTransientDatabaseError } from '../availability.ts';
import { hasRole, lowerRole } from '../tenancy/roles.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import { needsApproval, type ToolEffects, type ToolResult } from '../tools/tool.ts';
import { appendMessage } from '../history/messages.ts';
import type { Delivery } from '../replies/delivery.ts';
import { rememberSubject } from '../history/subject.ts';
import { queueFollowUp } from '../history/followup.ts';
import { orderIdsOf, watchOrders } from '../notices/origin.ts';
import { writeAudit } from './audit.ts';
import { confirmReply, deciderName } from './card.ts';
import { actionOriginSchema, type ActionRow, type Decision } from './plan.ts';
import { selectionsOf } from '../pipeline/selections.ts';
import { claimAction, expireAction, findAction, finishAction } from './store.ts';

export type DecideDeps = { orm: Orm; log: Logger; tools: ToolRegistry; now: () => Date };

/** A confirmed action's results, for the model's follow-up. */
export type Executed = {
  action: ActionRow;
  results: { tool: string; summary: string; data: unknown; effects?: ToolEffects }[];
};

/** Where the confirmer is, as far as the adapter knows. */
export type ConfirmOptions = {
  /** The confirmer's conversation: used for the follow-up when the action does not remember where it was asked. */
  delivery?: Delivery;
  /** The confirmer's session: confirming from another conversation answers there with a pointer only. */
  sessionId?: string;
};

/**
 * Confirms an action: role check, then one transaction that claims it (pending → executing,
 * compare-and-set), runs every step, records the result, and queues the model's follow-up — so
 * concurrent clicks execute it exactly once, a failing step changes nothing, and the follow-up
 * exists exactly when the decision does. The follow-up, and the progress and completion notices
 * of orders it sets rendering, go to the conversation where the plan was asked (its origin;
 * `opts.delivery` for actions that remember none).
 */
export async function confirmAction(
  deps: DecideDeps,
  actor: Actor,
  actionId: string,
  opts: ConfirmOptions = {},
): Promise<Decision & { executed?: Executed }> {
  const em = deps.orm.em.fork();
  if (!hasRole(actor.role, 'operator')) {
    const row = await findAction(em, actor.tenantId, actionId);
    if (!row) return notFound();
    await writeAudit(em, {
      tenantId: actor.tenantId,
      actor: actor.userId,
      action: 'action.confirm',
      target: actionId,
      outcome: 'refused_role',
    });
    return refusal(row, 'Only operators and admins can confirm changes. Ask an operator of your team to confirm it.');
  }
  let results: Executed['results'] = [];
  try {
    const done = await em.transactional(async (tx) => {
      const claimed = await claimAction(tx, actor.tenantId, actionId, 'executing', {
        id: actor.userId,
        name: actor.name,
      });
      if (!claimed) return undefined;
      results = [];
      const selections = await selectionsOf(tx, actor.tenantId, claimed.id);
      for (const [step, call] of claimed.plan.entries()) {
        const tool = deps.tools.get(call.tool);
        if (!tool || !needsApproval(tool)) throw new Error(`plan names unknown write tool ${call.tool}`);
        const args = tool.parameters.parse(call.args);
        const turn = {
          tenantId: actor.tenantId,
          userId: actor.userId,
          role: actor.role,
          sessionId: claimed.sessionId,
          platform: actor.platform,
        };
        // Each step runs with what its own preview froze: selections are keyed by step, not by the model's call id.
        const selectionId = selections.get(step);
        const ctx = { turn, em: tx, log: deps.log, now: deps.now, ...(selectionId ? { frozen: { selectionId } } : {}) };
        const result: ToolResult = await tool.run(ctx, args);
        results.push({
          tool: call.tool,
          summary: result.summary ?? `${call.tool} done`,
          data: result.data,
          ...(result.effects ? { effects: result.effects } : {}),
        });
      }
      const origin = actionOriginSchema.safeParse(claimed.origin).data?.delivery ?? opts.delivery;
      // The conversation where it was asked hears back there when its renders finish (core/notices).
      if (origin)
        await watchOrders(tx, actor.tenantId, orderIdsOf(results.flatMap((r) => r.effects?.orders ?? [])), {
          sessionId: claimed.sessionId,
          delivery: origin,
        });
      // The order a plan created becomes what the conversation is about (subject summaries).
      for (const r of results) await rememberSubject(tx, actor.tenantId, claimed.sessionId, r.effects?.subject);
      const outcome = results.map((r) => r.summary).join('; ');
      const row = await finishAction(tx, claimed.id, 'done', { outcome, results: results.map((r) => r.data) });
      await writeAudit(tx, {
        tenantId: actor.tenantId,
        actor: actor.userId,
        action: 'action.confirm',
        target: claimed.id,
        outcome: 'done',
        detail: {
          plan: claimed.plan.map((c) => ({ tool: c.tool, args: c.args })),
          results: results.map((r) => r.data),
        },
      });
      // A note for later turns (a `system` row: written by RenderBot, not a person). Its results quote names tenants
      // wrote, so the model sees it only as a delimited data message (window.ts), never as a system message; people never see it.
      await appendMessage(tx, {
        tenantId: actor.tenantId,
        sessionId: claimed.sessionId,
        userId: actor.userId,
        role: 'system',
        // The platform user id, not a display name (text others chose).
        content: `The user ${actor.userId} confirmed action ${claimed.id}. Results: ${results.map((r) => `${r.tool}: ${JSON.stringify(r.data)}`).join(' | ')}`,
      });
      if (origin) {
        // The follow-up speaks in the requester's conversation, as them, with no more than an operator's tools.
        const turn = {
          tenantId: actor.tenantId,
          userId: claimed.requestedBy,
          role: lowerRole(actor.role, 'operator'),
          sessionId: claimed.sessionId,
          platform: origin.platform,
        };
        // Its next steps follow from the orders the steps wrote (core/tools/next-steps.ts).
        await queueFollowUp(
          tx,
          turn,
          outcome || 'Done.',
          origin,
          results.map((r) => ({
            tool: r.tool,
            ...(r.effects?.orders ? { effects: { orders: r.effects.orders } } : {}),
          })),
        );
      }
      return row;
    });
    if (done) {
      const elsewhere = opts.sessionId !== undefined && opts.sessionId !== done.sessionId;
      const message = elsewhere
        ? `Confirmed — the result is in ${done.requestedBy}'s conversation.`
        : (done.result?.outcome ?? 'Done.');
      return {
        ok: true,
        status: 'done',
        message,
        reply: confirmReply(done),
        sessionId: done.sessionId,
        executed: { action: done, results },
      };
    }
  } catch (err) {
    // Rolled back for a reason that is not the action's (the database went away, a lost race): the
    // action is still pending, and the click is replayed or made again — it must not read "failed".
    if (isTransientDatabaseError(err)) throw err;
    deps.log.warn({ err, actionId }, 'confirmed action failed');
    const failed = await em.transactional(async (tx) => {
      const claimed = await claimAction(tx, actor.tenantId, actionId, 'executing', {
        id: actor.userId,
        name: actor.name,
      });
      if (!claimed) return undefined;
      await writeAudit(tx, {
        tenantId: actor.tenantId,
        actor: actor.userId,
        action: 'action.confirm',
        target: actionId,
        outcome: 'failed',
        detail: { error: publicMessage(err) },
      });
      return finishAction(tx, claimed.id, 'failed', { outcome: 'failed', error: publicMessage(err) });
    });
    if (failed)
      return {
        ok: false,
        status: 'failed',
        message: `It failed: ${publicMessage(err)} Nothing was changed.`,
        reply: confirmReply(failed),
        sessionId: failed.sessionId,
      };
  }
  return explain(deps, actor, actionId, 'confirm');
}

/** Cancels a pending action (operators, admins, or the person who asked). */
export async function cancelAction(deps: DecideDeps, actor: Actor, actionId: string): Promise<Decision> {
  const em = deps.orm.em.fork();
  const row = await findAction(em, actor.tenantId, actionId);
  if (!row) return notFound();
  if (!hasRole(actor.role, 'operator') && row.requestedBy !== actor.userId) {
    return refusal(row, 'Only operators, admins or the person who asked can cancel this.');
  }
  const cancelled = await em.transactional(async (tx) => {
    const claimed = await claimAction(tx, actor.tenantId, actionId, 'cancelled', {
      id: actor.userId,
      name: actor.name,
    });
    if (claimed)
      await writeAudit(tx, {
        tenantId: actor.tenantId,
        actor: actor.userId,
        action: 'action.cancel',
        target: actionId,
        outcome: 'cancelled',
      });
    return claimed;
  });
  if (cancelled)
    return {
      ok: true,
      status: 'cancelled',
      message: 'Cancelled. Nothing was changed.',
      reply: confirmReply(cancelled),
      sessionId: cancelled.sessionId,
    };
  return explain(deps, actor, actionId, 'cancel');
}

/** Why a decision changed nothing: unknown, already decided, running, or expired. */
async function explain(
  deps: DecideDeps,
  actor: Actor,
  actionId: string,
  verb: 'confirm' | 'cancel',
): Promise<Decision> {
  const em = deps.orm.em.fork();
  let row = await findAction(em, actor.tenantId, actionId);
  if (!row) return notFound();
  if (row.status === 'pending') {
    // Claims only fail on pending rows once they are past their expiry.
    await expireAction(em, row.id);
    row = (await findAction(em, actor.tenantId, actionId))!;
  }
  await writeAudit(em, {
    tenantId: actor.tenantId,
    actor: actor.userId,
    action: `action.${verb}`,
    target: actionId,
    outcome: `rejected_${row.status}`,
  });
  const by = row.decidedBy ? ` by ${deciderName(row)}` : '';
  const messages: Record<ActionRow['status'], string> = {
    pending: 'This confirmation is still open; please try again.',
    executing: `This is already running (confirmed${by}).`,
    done: `This was already confirmed${by}; it ran once and will not run again.`,
    failed: `This was confirmed${by} but failed; it will not run again. Ask again to get a new confirmation.`,
    cancelled: `This was cancelled${by}; nothing was changed. Ask again to get a new confirmation.`,
    expired: 'This confirmation expired; nothing was changed. Ask again to get a new confirmation.',
  };
  return refusal(row, messages[row.status]);
}

function refusal(row: ActionRow, message: string): Decision {
  return { ok: false, status: row.status, message, reply: confirmReply(row), sessionId: row.sessionId };
}

function notFound(): Decision {
  return {
    ok: false,
    status: 'not_found',
    message: 'This confirmation was not found. It may belong to another workspace or have been removed.',
    reply: { blocks: [{ type: 'text', text: 'This confirmation was not found.' }] },
  };
}
