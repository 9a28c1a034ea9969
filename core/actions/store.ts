import { sql } from 'kysely';
import { isUuid } from '../db/sql.ts';
import { db, type Row } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import type { TurnScope } from '../turn-scope.ts';
import type { Frozen } from '../tools/tool.ts';
import { storedActionSchema, type ActionOrigin, type ActionResult, type ActionRow, type PlanCall } from './plan.ts';
import { attachSelections, dropSelections, dropStaleSelections } from '../pipeline/selections.ts';

/** Default time a confirmation stays open (docs/design.md §6). */
const ACTION_TTL_MS = 15 * 60 * 1000;

const columns = [
  'id',
  'tenant',
  'session',
  'requestedBy',
  'plan',
  'preview',
  'status',
  'expiresAt',
  'decidedBy',
  'decidedByName',
  'decidedAt',
  'result',
  'origin',
  'createdAt',
] as const;

/** An action as the core uses it, its stored JSON checked. */
function toAction({
  tenant,
  session,
  plan,
  preview,
  result,
  ...row
}: Pick<Row<'pending_action'>, (typeof columns)[number]>): ActionRow {
  return { ...row, tenantId: tenant, sessionId: session, ...storedActionSchema.parse({ plan, preview, result }) };
}

/**
 * Stores one pending action holding every write call of a model response and attaches what each
 * call froze to its step (selections stay beside the action, out of the stored plan, keyed by the
 * step's position — never by the model's tool-call id), in one transaction;
 * `origin` is where it was asked (the confirmed plan's follow-up and its orders' notices go there).
 */
export async function createPendingAction(
  em: EntityManager,
  turn: TurnScope,
  calls: (PlanCall & { frozen?: Frozen })[],
  now: Date,
  origin?: ActionOrigin,
  ttlMs = ACTION_TTL_MS,
): Promise<ActionRow> {
  // A one-step plan is titled by its step (cards then show the step once); a longer one says how many.
  const title = calls.length === 1 ? calls[0]!.step.title : `Please confirm these ${calls.length} changes`;
  const plan: PlanCall[] = calls.map(({ frozen: _frozen, ...call }) => call);
  return em.transactional(async (tx) => {
    const row = await db(tx)
      .insertInto('pending_action')
      .values({
        tenant: turn.tenantId,
        session: turn.sessionId,
        requestedBy: turn.userId,
        plan,
        preview: { title },
        status: 'pending',
        expiresAt: new Date(now.getTime() + ttlMs),
        origin: origin ?? null,
      })
      .returning(columns)
      .executeTakeFirstOrThrow();
    await attachSelections(
      tx,
      turn.tenantId,
      row.id,
      calls.flatMap((c, step) => (c.frozen ? [{ step, selectionId: c.frozen.selectionId }] : [])),
    );
    return toAction(row);
  });
}

/** An action of the tenant, or undefined (also for another tenant's id: indistinguishable). */
export async function findAction(
  em: EntityManager,
  tenantId: string,
  actionId: string,
): Promise<ActionRow | undefined> {
  if (!isUuid(actionId)) return undefined;
  const row = await db(em)
    .selectFrom('pending_action')
    .select(columns)
    .where('id', '=', actionId)
    .where('tenant', '=', tenantId)
    .executeTakeFirst();
  return row && toAction(row);
}

/** The newest still-pending action of a session (for "confirm" typed in a terminal). */
export async function latestPendingAction(
  em: EntityManager,
  tenantId: string,
  sessionId: string,
): Promise<ActionRow | undefined> {
  const row = await db(em)
    .selectFrom('pending_action')
    .select(columns)
    .where('tenant', '=', tenantId)
    .where('session', '=', sessionId)
    .where('status', '=', 'pending')
    .orderBy('createdAt', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && toAction(row);
}

/** Atomic compare-and-set pending → `to`; returns the row only for the one caller that won. */
export async function claimAction(
  em: EntityManager,
  tenantId: string,
  actionId: string,
  to: 'executing' | 'cancelled',
  decidedBy: { id: string; name?: string },
): Promise<ActionRow | undefined> {
  if (!isUuid(actionId)) return undefined;
  const row = await db(em)
    .updateTable('pending_action')
    .set({ status: to, decidedBy: decidedBy.id, decidedByName: decidedBy.name ?? null, decidedAt: sql<Date>`now()` })
    .where('id', '=', actionId)
    .where('tenant', '=', tenantId)
    .where('status', '=', 'pending')
    .where('expiresAt', '>', sql<Date>`now()`)
    .returning(columns)
    .executeTakeFirst();
  if (row && to === 'cancelled') await dropSelections(em, row.id);
  return row && toAction(row);
}

/** Sets the final state of an action that this caller claimed. */
export async function finishAction(
  em: EntityManager,
  actionId: string,
  status: 'done' | 'failed',
  result: ActionResult,
): Promise<ActionRow> {
  await dropSelections(em, actionId);
  return toAction(
    await db(em)
      .updateTable('pending_action')
      .set({ status, result })
      .where('id', '=', actionId)
      .returning(columns)
      .executeTakeFirstOrThrow(),
  );
}

/** Marks overdue pending actions expired and drops what decided or expired actions froze; returns how many expired. */
export async function expireActions(em: EntityManager): Promise<number> {
  const expired = await db(em)
    .updateTable('pending_action')
    .set({ status: 'expired' })
    .where('status', '=', 'pending')
    .where('expiresAt', '<=', sql<Date>`now()`)
    .executeTakeFirst();
  await dropStaleSelections(em);
  return Number(expired.numUpdatedRows);
}

/** Marks one action expired if it is still pending past its expiry (a claim failed on it). */
export async function expireAction(em: EntityManager, actionId: string): Promise<void> {
  await db(em)
    .updateTable('pending_action')
    .set({ status: 'expired' })
    .where('id', '=', actionId)
    .where('status', '=', 'pending')
    .where('expiresAt', '<=', sql<Date>`now()`)
    .execute();
}
