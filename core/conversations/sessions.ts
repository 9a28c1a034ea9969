import { query, queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import type { Platform } from '../tenancy/roles.ts';

export type SessionRow = { id: string; tenant_id: string; platform: Platform; key: string; title: string | null; created_at: string; last_active_at: string };

/** The active session for a platform thread key, created on first use (DESIGN §3). */
export async function resolveSession(em: EntityManager, tenantId: string, platform: Platform, key: string, createdBy: string): Promise<SessionRow> {
  const cols = 'id, tenant_id, platform, key, title, created_at, last_active_at';
  const found = await queryOne<SessionRow>(em, `select ${cols} from chat_session where tenant_id = ? and platform = ? and key = ? and archived_at is null`, [tenantId, platform, key]);
  if (found) return found;
  const created = await queryOne<SessionRow>(em,
    `insert into chat_session (tenant_id, platform, key, created_by) values (?, ?, ?, ?)
     on conflict (tenant_id, platform, key) where archived_at is null do nothing returning ${cols}`,
    [tenantId, platform, key, createdBy]);
  return created ?? (await queryOne<SessionRow>(em, `select ${cols} from chat_session where tenant_id = ? and platform = ? and key = ? and archived_at is null`, [tenantId, platform, key]))!;
}

/** Archives the thread's session so the next message starts fresh (`new`); history is kept. */
export async function archiveSession(em: EntityManager, tenantId: string, sessionId: string): Promise<void> {
  await em.execute(`update chat_session set archived_at = now() where id = ? and tenant_id = ?`, [sessionId, tenantId]);
}

/** Deletes a session with its messages and pending actions (`forget`). Returns false when not found. */
export async function deleteSession(em: EntityManager, tenantId: string, sessionId: string): Promise<boolean> {
  const rows = await query(em, `delete from chat_session where id = ? and tenant_id = ? returning id`, [sessionId, tenantId]);
  return rows.length > 0;
}
