import { sql } from 'kysely';
import { db, type Row } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { z } from 'zod';
import { row, timestamp } from '../db/sql.ts';
import { platformSchema, type Platform } from '../tenancy/roles.ts';

/** A conversation (docs/design.md §3) as the core hands it out. */
export type SessionRow = Pick<
  Row<'chat_session'>,
  'id' | 'platform' | 'key' | 'title' | 'createdAt' | 'lastActiveAt'
> & { tenantId: string };

const sessionColumns = ['id', 'tenant as tenantId', 'platform', 'key', 'title', 'createdAt', 'lastActiveAt'] as const;

/** The active (not archived) session for a platform thread key, if there is one; never creates one. */
export async function findActiveSession(
  em: EntityManager,
  tenantId: string,
  platform: Platform,
  key: string,
): Promise<SessionRow | undefined> {
  return db(em)
    .selectFrom('chat_session')
    .select(sessionColumns)
    .where('tenant', '=', tenantId)
    .where('platform', '=', platform)
    .where('key', '=', key)
    .where('archivedAt', 'is', null)
    .executeTakeFirst();
}

const sessionRow = z.object({
  id: z.string(),
  tenantId: z.string(),
  platform: platformSchema,
  key: z.string(),
  title: z.string().nullable(),
  createdAt: timestamp,
  lastActiveAt: timestamp,
});
const sessionSql = `id, tenant_id as "tenantId", platform, key, title, created_at as "createdAt", last_active_at as "lastActiveAt"`;

/**
 * The active session for a platform thread key, created on first use (docs/design.md §3), in one
 * statement: the insert's result, or (its key taken) the session the statement's snapshot saw.
 * Only a session created by another transaction after that snapshot is read again.
 */
export async function resolveSession(
  em: EntityManager,
  tenantId: string,
  platform: Platform,
  key: string,
  createdBy: string,
): Promise<SessionRow> {
  const found = await row(
    em,
    sessionRow,
    `with created as (
       insert into chat_session (tenant_id, platform, key, created_by) values (?, ?, ?, ?)
       on conflict (tenant_id, platform, key) where archived_at is null do nothing
       returning ${sessionSql}
     )
     select * from created
     union all
     select ${sessionSql} from chat_session where tenant_id = ? and platform = ? and key = ? and archived_at is null
     limit 1`,
    [tenantId, platform, key, createdBy, tenantId, platform, key],
  );
  return found ?? (await findActiveSession(em, tenantId, platform, key))!;
}

/**
 * `new`: archives the thread's session (its history is kept) and opens a fresh one under the same
 * key in the same statement, so the thread goes on — replies that continue a conversation
 * without mentioning the bot still find one.
 */
export async function renewSession(em: EntityManager, tenantId: string, sessionId: string): Promise<void> {
  await db(em)
    .with('old', (q) =>
      q
        .updateTable('chat_session')
        .set({ archivedAt: sql<Date>`now()` })
        .where('id', '=', sessionId)
        .where('tenant', '=', tenantId)
        .where('archivedAt', 'is', null)
        // Aliased: the ORM's Kysely plugin maps entity properties, not the columns of an UPDATE's CTE.
        .returning(['tenant as oldTenant', 'platform as oldPlatform', 'key as oldKey', 'createdBy as oldCreatedBy']),
    )
    .insertInto('chat_session')
    .columns(['tenant', 'platform', 'key', 'createdBy'])
    .expression((q) => q.selectFrom('old').select(['oldTenant', 'oldPlatform', 'oldKey', 'oldCreatedBy']))
    .execute();
}

/** Deletes a session with its messages and pending actions (`forget`). Returns false when not found. */
export async function deleteSession(em: EntityManager, tenantId: string, sessionId: string): Promise<boolean> {
  const deleted = await db(em)
    .deleteFrom('chat_session')
    .where('id', '=', sessionId)
    .where('tenant', '=', tenantId)
    .executeTakeFirst();
  return deleted.numDeletedRows > 0n;
}

/**
 * A session as a chat list shows it: `lastMessage` is the latest user or assistant text;
 * `activeKey` is `lastActiveAt` exactly as stored (microseconds), for page cursors.
 */
export type SessionListItem = SessionRow & { lastMessage: string | null; messageCount: number; activeKey: string };

/**
 * One person's active sessions on a platform (`createdBy` = their user id), newest activity
 * first; `before` is the (activeKey, id) of the previous page's last item (exact, unlike a JS Date).
 */
export async function listUserSessions(
  em: EntityManager,
  tenantId: string,
  platform: Platform,
  userId: string,
  page: { limit: number; before?: { lastActiveAt: string; id: string } },
): Promise<SessionListItem[]> {
  const b = page.before;
  const rows = await db(em)
    .selectFrom('chat_session as s')
    .select((eb) => [
      's.id',
      's.tenant as tenantId',
      's.platform',
      's.key',
      's.title',
      's.createdAt',
      's.lastActiveAt',
      sql<string>`s.last_active_at::text`.as('activeKey'),
      // Messages a person sees in a session list: user and assistant text.
      eb
        .selectFrom('chat_message as m')
        .select('m.content')
        .whereRef('m.session', '=', 's.id')
        .where('m.role', 'in', ['user', 'assistant'])
        .where('m.content', '<>', '')
        .orderBy('m.seq', 'desc')
        .limit(1)
        .as('lastMessage'),
      eb
        .selectFrom('chat_message as m')
        .select(sql<number>`count(*)::int`.as('n'))
        .whereRef('m.session', '=', 's.id')
        .where('m.role', 'in', ['user', 'assistant'])
        .where('m.content', '<>', '')
        .as('messageCount'),
    ])
    .where('s.tenant', '=', tenantId)
    .where('s.platform', '=', platform)
    .where('s.createdBy', '=', userId)
    .where('s.archivedAt', 'is', null)
    .$if(b !== undefined, (q) =>
      q.where(sql<boolean>`(s.last_active_at, s.id) < (${b!.lastActiveAt}::timestamptz, ${b!.id}::uuid)`),
    )
    .orderBy('s.lastActiveAt', 'desc')
    .orderBy('s.id', 'desc')
    .limit(page.limit)
    .execute();
  return rows.map((r) => ({ ...r, lastMessage: r.lastMessage ?? null, messageCount: r.messageCount ?? 0 }));
}

/** A person's own session by id; undefined for other people's, other tenants' or unknown ids alike. */
export async function findUserSession(
  em: EntityManager,
  tenantId: string,
  platform: Platform,
  userId: string,
  sessionId: string,
): Promise<SessionRow | undefined> {
  return db(em)
    .selectFrom('chat_session')
    .select(sessionColumns)
    .where(sql<string>`id::text`, '=', sessionId)
    .where('tenant', '=', tenantId)
    .where('platform', '=', platform)
    .where('createdBy', '=', userId)
    .where('archivedAt', 'is', null)
    .executeTakeFirst();
}

/** A visible message of a conversation: user and assistant rows with text (tool rows and notes are internal). */
export type VisibleMessage = Pick<Row<'chat_message'>, 'id' | 'seq' | 'content' | 'reply' | 'createdAt'> & {
  role: 'user' | 'assistant';
};

/**
 * A page of a session's visible messages, oldest first: the newest `limit` before sequence
 * `before`, or the oldest `limit` after sequence `after` (for waiting on new ones).
 */
export async function listSessionMessages(
  em: EntityManager,
  sessionId: string,
  page: { limit: number; before?: number; after?: number },
): Promise<VisibleMessage[]> {
  const visible = db(em)
    .selectFrom('chat_message')
    .select(['id', 'seq', 'role', 'content', 'reply', 'createdAt'])
    .where('session', '=', sessionId)
    .where('role', 'in', ['user', 'assistant'])
    .where('toolCalls', 'is', null)
    .where((eb) => eb.or([eb('content', '<>', ''), eb('reply', 'is not', null)]))
    .$narrowType<{ role: 'user' | 'assistant' }>();
  if (page.after !== undefined) return visible.where('seq', '>', page.after).orderBy('seq').limit(page.limit).execute();
  const rows = await visible
    .$if(page.before !== undefined, (q) => q.where('seq', '<', page.before!))
    .orderBy('seq', 'desc')
    .limit(page.limit)
    .execute();
  return rows.reverse();
}

/** Stores a session's running summary and the last message folded into it (core/agent/window.ts folds). */
export async function saveSessionSummary(
  em: EntityManager,
  sessionId: string,
  folded: { summary: string | null; summaryUpto: number },
): Promise<void> {
  await db(em)
    .updateTable('chat_session')
    .set({ summary: folded.summary, summaryUpto: folded.summaryUpto })
    .where('id', '=', sessionId)
    .execute();
}
