import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import type { Platform, Role } from './roles.ts';

/**
 * The role of a person, creating their tenant_user row with `defaultRole` on first contact
 * (workspace members: operator; guests: viewer — DESIGN §2). An admin-set role is kept.
 */
export async function ensureUser(em: EntityManager, tenantId: string, platform: Platform, externalUserId: string, defaultRole: Role, displayName?: string): Promise<Role> {
  const row = await db(em).insertInto('tenant_user')
    .values({ tenant: tenantId, platform, externalUserId, displayName: displayName ?? null, role: defaultRole })
    .onConflict((oc) => oc.columns(['tenant', 'platform', 'externalUserId'])
      .doUpdateSet((eb) => ({ displayName: eb.fn.coalesce('excluded.displayName', 'tenant_user.displayName') })))
    .returning('role').executeTakeFirstOrThrow();
  return row.role;
}

/** Sets a person's role (admin CLI). */
export async function setUserRole(em: EntityManager, tenantId: string, platform: Platform, externalUserId: string, role: Role): Promise<void> {
  await db(em).insertInto('tenant_user').values({ tenant: tenantId, platform, externalUserId, role })
    .onConflict((oc) => oc.columns(['tenant', 'platform', 'externalUserId']).doUpdateSet((eb) => ({ role: eb.ref('excluded.role') })))
    .execute();
}

/**
 * Removes a person from a tenant (admin CLI): their role row goes, so their web API tokens stop
 * working at once. False when there was no such person. Slack and Teams users who write again
 * are treated as first contact (default role).
 */
export async function removeUser(em: EntityManager, tenantId: string, platform: Platform, externalUserId: string): Promise<boolean> {
  const removed = await db(em).deleteFrom('tenant_user')
    .where('tenant', '=', tenantId).where('platform', '=', platform).where('externalUserId', '=', externalUserId)
    .executeTakeFirst();
  return removed.numDeletedRows > 0n;
}
