import { sql } from 'kysely';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import type { Platform, Role } from './roles.ts';

/**
 * The role of a person, creating their tenant_user row on first contact. `platformRole` is the
 * role the platform's answer gives them (workspace members: operator; guests and people from
 * another workspace: viewer); it replaces a default role every time, so a member who
 * became a guest is a viewer from the next answer on. A role an admin set is kept.
 */
export async function ensureUser(
  em: EntityManager,
  tenantId: string,
  platform: Platform,
  externalUserId: string,
  platformRole: Role,
  displayName?: string,
): Promise<Role> {
  const row = await db(em)
    .insertInto('tenant_user')
    .values({
      tenant: tenantId,
      platform,
      externalUserId,
      displayName: displayName ?? null,
      role: platformRole,
      roleSource: 'default',
    })
    .onConflict((oc) =>
      oc.columns(['tenant', 'platform', 'externalUserId']).doUpdateSet((eb) => ({
        displayName: eb.fn.coalesce('excluded.displayName', 'tenant_user.displayName'),
        role: eb
          .case()
          .when('tenant_user.roleSource', '=', 'default')
          .then(eb.ref('excluded.role'))
          .else(eb.ref('tenant_user.role'))
          .end(),
      })),
    )
    .returning('role')
    .executeTakeFirstOrThrow();
  return row.role;
}

/** Sets a person's role as an admin's decision (admin CLI, web tokens): kept whatever the platform says later. */
export async function setUserRole(
  em: EntityManager,
  tenantId: string,
  platform: Platform,
  externalUserId: string,
  role: Role,
): Promise<void> {
  await db(em)
    .insertInto('tenant_user')
    .values({ tenant: tenantId, platform, externalUserId, role, roleSource: 'admin' })
    .onConflict((oc) =>
      oc
        .columns(['tenant', 'platform', 'externalUserId'])
        .doUpdateSet((eb) => ({ role: eb.ref('excluded.role'), roleSource: eb.ref('excluded.roleSource') })),
    )
    .execute();
}

/**
 * Removes a person from a tenant (admin CLI), in one transaction: their role row goes, and so
 * do their web credentials for good — API tokens are revoked and unused login links deleted, so
 * adding the person again later revives none of them. False when there was no such person.
 * Slack and Teams users who write again are treated as first contact (default role).
 */
export async function removeUser(
  em: EntityManager,
  tenantId: string,
  platform: Platform,
  externalUserId: string,
): Promise<boolean> {
  return em.transactional(async (tx) => {
    const removed = await db(tx)
      .deleteFrom('tenant_user')
      .where('tenant', '=', tenantId)
      .where('platform', '=', platform)
      .where('externalUserId', '=', externalUserId)
      .executeTakeFirst();
    if (platform === 'web') {
      await db(tx)
        .updateTable('api_token')
        .set({ revokedAt: sql<Date>`now()` })
        .where('tenant', '=', tenantId)
        .where('userId', '=', externalUserId)
        .where('revokedAt', 'is', null)
        .execute();
      await db(tx)
        .deleteFrom('web_login_code')
        .where('tenant', '=', tenantId)
        .where('userId', '=', externalUserId)
        .where('usedAt', 'is', null)
        .execute();
    }
    return removed.numDeletedRows > 0n;
  });
}
