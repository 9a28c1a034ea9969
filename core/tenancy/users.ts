import { queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import type { Platform, Role } from './roles.ts';

/**
 * The role of a person, creating their tenant_user row with `defaultRole` on first contact
 * (workspace members: operator; guests: viewer — DESIGN §2). An admin-set role is kept.
 */
export async function ensureUser(em: EntityManager, tenantId: string, platform: Platform, externalUserId: string, defaultRole: Role, displayName?: string): Promise<Role> {
  const row = await queryOne<{ role: Role }>(em,
    `insert into tenant_user (tenant_id, platform, external_user_id, display_name, role) values (?, ?, ?, ?, ?)
     on conflict (tenant_id, platform, external_user_id) do update set display_name = coalesce(excluded.display_name, tenant_user.display_name)
     returning role`,
    [tenantId, platform, externalUserId, displayName ?? null, defaultRole]);
  return row!.role;
}

/** Sets a person's role (admin CLI). */
export async function setUserRole(em: EntityManager, tenantId: string, platform: Platform, externalUserId: string, role: Role): Promise<void> {
  await em.execute(
    `insert into tenant_user (tenant_id, platform, external_user_id, role) values (?, ?, ?, ?)
     on conflict (tenant_id, platform, external_user_id) do update set role = excluded.role`,
    [tenantId, platform, externalUserId, role]);
}

/**
 * Removes a person from a tenant (admin CLI): their role row goes, so their web API tokens stop
 * working at once. False when there was no such person. Slack and Teams users who write again
 * are treated as first contact (default role).
 */
export async function removeUser(em: EntityManager, tenantId: string, platform: Platform, externalUserId: string): Promise<boolean> {
  const rows = await em.execute(`delete from tenant_user where tenant_id = ? and platform = ? and external_user_id = ? returning id`,
    [tenantId, platform, externalUserId]);
  return rows.length > 0;
}
