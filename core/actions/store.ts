import { z } from 'zod';
import { queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import type { TurnContext } from '../context.ts';
import type { Frozen } from '../tools/tool.ts';
import type { ActionOrigin, ActionRow, PlanCall } from './plan.ts';
import { attachSelections, dropSelections, dropStaleSelections } from '../pipeline/selections.ts';

/** Default time a confirmation stays open (DESIGN §6). */
export const ACTION_TTL_MS = 15 * 60 * 1000;

const columns = `id, tenant_id, session_id, requested_by, plan, preview, status, expires_at, decided_by, decided_by_name, decided_at, result, message_ref, origin, created_at`;

/**
 * Stores one pending action holding every write call of a model response and attaches what each
 * call froze (selections stay beside the action, out of the stored plan), in one transaction;
 * `origin` is where it was asked (the confirmed plan's follow-up and its orders' notices go there).
 */
export async function createPendingAction(em: EntityManager, turn: TurnContext, calls: (PlanCall & { frozen?: Frozen })[], now: Date, origin?: ActionOrigin, ttlMs = ACTION_TTL_MS): Promise<ActionRow> {
  // A one-step plan is titled by its step (cards then show the step once); a longer one says how many.
  const title = calls.length === 1 ? calls[0]!.step.title : `Please confirm these ${calls.length} changes`;
  const plan: PlanCall[] = calls.map(({ frozen: _frozen, ...call }) => call);
  return em.transactional(async (tx) => {
    const row = await queryOne<ActionRow>(tx,
      `insert into pending_action (tenant_id, session_id, requested_by, plan, preview, status, expires_at, origin)
       values (?, ?, ?, ?::jsonb, ?::jsonb, 'pending', ?, ?::jsonb) returning ${columns}`,
      [turn.tenantId, turn.sessionId, turn.userId, JSON.stringify(plan), JSON.stringify({ title }), new Date(now.getTime() + ttlMs).toISOString(), origin ? JSON.stringify(origin) : null],
    );
    await attachSelections(tx, turn.tenantId, row!.id, calls.flatMap((c) => (c.frozen ? [{ toolCallId: c.toolCallId, selectionId: c.frozen.selectionId }] : [])));
    return row!;
  });
}

/** An action of the tenant, or undefined (also for another tenant's id: indistinguishable). */
export async function findAction(em: EntityManager, tenantId: string, actionId: string): Promise<ActionRow | undefined> {
  if (!z.uuid().safeParse(actionId).success) return undefined;
  return queryOne<ActionRow>(em, `select ${columns} from pending_action where id = ? and tenant_id = ?`, [actionId, tenantId]);
}

/** The newest still-pending action of a session (for "confirm" typed in a terminal). */
export async function latestPendingAction(em: EntityManager, tenantId: string, sessionId: string): Promise<ActionRow | undefined> {
  return queryOne<ActionRow>(em,
    `select ${columns} from pending_action where tenant_id = ? and session_id = ? and status = 'pending' order by created_at desc limit 1`,
    [tenantId, sessionId]);
}

/** Atomic compare-and-set pending → `to`; returns the row only for the one caller that won. */
export async function claimAction(em: EntityManager, tenantId: string, actionId: string, to: 'executing' | 'cancelled', decidedBy: { id: string; name?: string }): Promise<ActionRow | undefined> {
  if (!z.uuid().safeParse(actionId).success) return undefined;
  const row = await queryOne<ActionRow>(em,
    `update pending_action set status = ?, decided_by = ?, decided_by_name = ?, decided_at = now()
     where id = ? and tenant_id = ? and status = 'pending' and expires_at > now() returning ${columns}`,
    [to, decidedBy.id, decidedBy.name ?? null, actionId, tenantId]);
  if (row && to === 'cancelled') await dropSelections(em, row.id);
  return row;
}

/** Sets the final state of an action that this caller claimed. */
export async function finishAction(em: EntityManager, actionId: string, status: 'done' | 'failed', result: ActionRow['result']): Promise<ActionRow> {
  await dropSelections(em, actionId);
  return (await queryOne<ActionRow>(em, `update pending_action set status = ?, result = ?::jsonb where id = ? returning ${columns}`,
    [status, JSON.stringify(result), actionId]))!;
}

/** Marks overdue pending actions expired and drops what decided or expired actions froze; returns how many expired. */
export async function expireActions(em: EntityManager): Promise<number> {
  const rows = await em.execute(`update pending_action set status = 'expired' where status = 'pending' and expires_at <= now() returning id`);
  await dropStaleSelections(em);
  return (rows as unknown[]).length;
}

/** Remembers where the confirm card was posted, for in-place updates. */
export async function setMessageRef(em: EntityManager, tenantId: string, actionId: string, ref: Record<string, unknown>): Promise<void> {
  await em.execute(`update pending_action set message_ref = ?::jsonb where id = ? and tenant_id = ?`, [JSON.stringify(ref), actionId, tenantId]);
}
