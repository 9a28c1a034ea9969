import { query, queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import type { Platform } from '../tenancy/roles.ts';

export type SessionRow = { id: string; tenant_id: string; platform: Platform; key: string; title: string | null; created_at: string; last_active_at: string };

const SESSION_COLS = 'id, tenant_id, platform, key, title, created_at, last_active_at';

/** The active (not archived) session for a platform thread key, if there is one; never creates one. */
export async function findActiveSession(em: EntityManager, tenantId: string, platform: Platform, key: string): Promise<SessionRow | undefined> {
  return queryOne<SessionRow>(em, `select ${SESSION_COLS} from chat_session where tenant_id = ? and platform = ? and key = ? and archived_at is null`, [tenantId, platform, key]);
}

/** The active session for a platform thread key, created on first use (DESIGN §3). */
export async function resolveSession(em: EntityManager, tenantId: string, platform: Platform, key: string, createdBy: string): Promise<SessionRow> {
  const found = await findActiveSession(em, tenantId, platform, key);
  if (found) return found;
  const created = await queryOne<SessionRow>(em,
    `insert into chat_session (tenant_id, platform, key, created_by) values (?, ?, ?, ?)
     on conflict (tenant_id, platform, key) where archived_at is null do nothing returning ${SESSION_COLS}`,
    [tenantId, platform, key, createdBy]);
  return created ?? (await findActiveSession(em, tenantId, platform, key))!;
}

/**
 * `new`: archives the thread's session (its history is kept) and opens a fresh one under the same
 * key in the same statement, so the thread goes on — replies that continue a conversation
 * without mentioning the bot still find one.
 */
export async function renewSession(em: EntityManager, tenantId: string, sessionId: string): Promise<void> {
  await em.execute(
    `with old as (
       update chat_session set archived_at = now() where id = ? and tenant_id = ? and archived_at is null
       returning tenant_id, platform, key, created_by)
     insert into chat_session (tenant_id, platform, key, created_by) select tenant_id, platform, key, created_by from old`,
    [sessionId, tenantId]);
}

/** Deletes a session with its messages and pending actions (`forget`). Returns false when not found. */
export async function deleteSession(em: EntityManager, tenantId: string, sessionId: string): Promise<boolean> {
  const rows = await query(em, `delete from chat_session where id = ? and tenant_id = ? returning id`, [sessionId, tenantId]);
  return rows.length > 0;
}

/** A session as a chat list shows it; `last_message` is the latest user or assistant text. */
export type SessionListItem = SessionRow & { last_message: string | null; message_count: number; active_key: string };

/**
 * One person's active sessions on a platform (`created_by` = their user id), newest activity
 * first; `before` is the (active_key, id) of the previous page's last item (exact, unlike a JS Date).
 */
export async function listUserSessions(em: EntityManager, tenantId: string, platform: Platform, userId: string,
  page: { limit: number; before?: { lastActiveAt: string; id: string } }): Promise<SessionListItem[]> {
  const b = page.before;
  return query<SessionListItem>(em,
    `select s.id, s.tenant_id, s.platform, s.key, s.title, s.created_at, s.last_active_at, s.last_active_at::text as active_key,
            (select m.content from chat_message m where m.session_id = s.id and m.role in ('user', 'assistant') and m.content <> ''
             order by m.seq desc limit 1) as last_message,
            (select count(*)::int from chat_message m where m.session_id = s.id and m.role in ('user', 'assistant') and m.content <> '') as message_count
     from chat_session s
     where s.tenant_id = ? and s.platform = ? and s.created_by = ? and s.archived_at is null
       ${b ? 'and (s.last_active_at, s.id) < (?::timestamptz, ?::uuid)' : ''}
     order by s.last_active_at desc, s.id desc limit ?`,
    [tenantId, platform, userId, ...(b ? [b.lastActiveAt, b.id] : []), page.limit]);
}

/** A person's own session by id; undefined for other people's, other tenants' or unknown ids alike. */
export async function findUserSession(em: EntityManager, tenantId: string, platform: Platform, userId: string, sessionId: string): Promise<SessionRow | undefined> {
  return queryOne<SessionRow>(em,
    `select ${SESSION_COLS} from chat_session
     where id::text = ? and tenant_id = ? and platform = ? and created_by = ? and archived_at is null`,
    [sessionId, tenantId, platform, userId]);
}

/** A visible message of a conversation: user and assistant rows with text (tool rows and notes are internal). */
export type VisibleMessage = { id: string; seq: string; role: 'user' | 'assistant'; content: string; reply: unknown; created_at: string };

/**
 * A page of a session's visible messages, oldest first: the newest `limit` before sequence
 * `before`, or the oldest `limit` after sequence `after` (for waiting on new ones).
 */
export async function listSessionMessages(em: EntityManager, sessionId: string, page: { limit: number; before?: number; after?: number }): Promise<VisibleMessage[]> {
  const cols = `id, seq, role, content, reply, created_at`;
  const visible = `session_id = ? and role in ('user', 'assistant') and tool_calls is null and (content <> '' or reply is not null)`;
  if (page.after !== undefined) {
    return query<VisibleMessage>(em, `select ${cols} from chat_message where ${visible} and seq > ? order by seq limit ?`, [sessionId, page.after, page.limit]);
  }
  const rows = await query<VisibleMessage>(em,
    `select ${cols} from chat_message where ${visible} ${page.before !== undefined ? 'and seq < ?' : ''} order by seq desc limit ?`,
    [sessionId, ...(page.before !== undefined ? [page.before] : []), page.limit]);
  return rows.reverse();
}
