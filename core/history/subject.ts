import { z } from 'zod';
import { isUuid } from '../db/sql.ts';
import { sql } from 'kysely';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';
import { getOrderStatus } from '../pipeline/orders-read.ts';
import { ellipsize } from '../replies/format.ts';

/** What a conversation is about: an order or a product of the session's tenant (docs/design.md §3, issue 7). */
export const sessionSubjectSchema = z.object({ type: z.enum(['order', 'product']), id: z.string().min(1).max(200) });
/** Stored in `chat_session.context` (jsonb; the web API sends it as `context_type`/`context_id`); `{}` means no particular object. */
export type SessionSubject = z.infer<typeof sessionSubjectSchema>;

/** Longest name quoted in a summary; names are data written by others, so they are quoted and cut. */
const MAX_NAME = 120;
const quote = (s: string) => JSON.stringify(ellipsize(s, MAX_NAME + 1));

/**
 * A short, current summary of the object, e.g.
 * `order SA-2026-00160 — status rendering, output WebP 1024x1024, 3 products; jobs: 1 completed, 2 queued (33% finished)`.
 * Throws UserInputError `context_not_found` for unknown ids and other tenants' objects alike.
 */
export async function subjectSummary(em: EntityManager, tenantId: string, subject: SessionSubject): Promise<string> {
  if (subject.type === 'order') {
    let o: Awaited<ReturnType<typeof getOrderStatus>>;
    try {
      o = await getOrderStatus(em, tenantId, subject.id);
    } catch (err) {
      if (err instanceof UserInputError)
        throw new UserInputError('context_not_found', `No order ${subject.id} was found.`);
      throw err;
    }
    const jobs =
      Object.entries(o.jobs)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ') || 'none';
    return (
      `order ${o.order_number} (id ${o.id}) — status ${o.status}, output ${quote(o.output_type)}, ${o.item_count} products; ` +
      `render jobs: ${jobs} (${Math.round(o.progress * 100)}% finished)` +
      `${o.material_override ? `; material override ${quote(o.material_override)}` : ''}; created ${o.created_at}` +
      `${o.completed_at ? `, completed ${o.completed_at}` : ''}. Use get_order_status for details.`
    );
  }
  const byId = isUuid(subject.id);
  const p = await db(em)
    .selectFrom('product as p')
    .select((eb) => [
      'p.id',
      'p.pimId',
      'p.name',
      'p.category',
      'p.materialName',
      eb
        .selectFrom('order_item as i')
        .select(sql<number>`count(distinct i.order_id)::int`.as('n'))
        .whereRef('i.tenant', '=', 'p.tenant')
        .whereRef('i.product', '=', 'p.id')
        .as('orders'),
    ])
    .where('p.tenant', '=', tenantId)
    .where(byId ? 'p.id' : 'p.pimId', '=', subject.id)
    .executeTakeFirst();
  if (!p) throw new UserInputError('context_not_found', `No product ${subject.id} was found.`);
  return `product ${quote(p.pimId)} ${quote(p.name)} (id ${p.id}) — category ${quote(p.category)}, material ${p.materialName ? quote(p.materialName) : 'none'}, in ${p.orders ?? 0} orders.`;
}

/** Sets (or with `undefined`, clears) what a session is about. */
export async function setSessionSubject(
  em: EntityManager,
  tenantId: string,
  sessionId: string,
  subject: SessionSubject | undefined,
): Promise<void> {
  await db(em)
    .updateTable('chat_session')
    .set({ context: subject ?? {} })
    .where('id', '=', sessionId)
    .where('tenant', '=', tenantId)
    .execute();
}

/**
 * The summary of what a turn's conversation is about (quoted to the model as data, never in the
 * system prompt): the session's object, freshly summarised; null when the session is about
 * nothing in particular or the object is gone (e.g. deleted since).
 */
export async function turnSubjectSummary(
  em: EntityManager,
  tenantId: string,
  subject: SessionSubject | undefined,
): Promise<string | null> {
  if (!subject) return null;
  try {
    return await subjectSummary(em, tenantId, subject);
  } catch (err) {
    if (err instanceof UserInputError) return null;
    throw err;
  }
}

/** Remembers what a thread is about after a tool named or created it (a tool result's `effects.subject`); nothing when it names none. */
export async function rememberSubject(
  em: EntityManager,
  tenantId: string,
  sessionId: string,
  subject: SessionSubject | undefined,
): Promise<void> {
  if (subject) await setSessionSubject(em, tenantId, sessionId, subject);
}
