import { createHash, randomInt } from 'node:crypto';
import { sql } from 'kysely';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';
import type { LinkPlatform } from './roles.ts';
import { getTenantById, tenantColumns, type TenantRow } from './tenants.ts';

/** Link codes live 15 minutes and work once (docs/design.md §2). */
const LINK_CODE_TTL_MS = 15 * 60 * 1000;
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

const hash = (code: string) =>
  createHash('sha256').update(code.trim().toUpperCase().replace(/[\s-]/g, '')).digest('hex');

/** Creates a one-time code like "K7QM-2XPA"; only its hash is stored. */
export async function createLinkCode(
  em: EntityManager,
  tenantId: string,
  now: Date,
): Promise<{ code: string; expiresAt: Date }> {
  const raw = Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  const expiresAt = new Date(now.getTime() + LINK_CODE_TTL_MS);
  await db(em)
    .insertInto('link_code')
    .values({ tenant: tenantId, codeHash: hash(raw), expiresAt })
    .execute();
  return { code: `${raw.slice(0, 4)}-${raw.slice(4)}`, expiresAt };
}

/**
 * Redeems a code for a workspace (Slack team / AAD tenant): single use, atomic, then links the
 * workspace. A workspace already linked to another tenant is not silently moved.
 */
export async function redeemLinkCode(
  em: EntityManager,
  code: string,
  platform: LinkPlatform,
  externalId: string,
  usedBy: string,
): Promise<TenantRow> {
  return em.transactional(async (tx) => {
    const used = await db(tx)
      .updateTable('link_code')
      .set({ usedAt: sql<Date>`now()`, usedBy })
      .where('codeHash', '=', hash(code))
      .where('usedAt', 'is', null)
      .where('expiresAt', '>', sql<Date>`now()`)
      .returning('tenant')
      .executeTakeFirst();
    if (!used)
      throw new UserInputError(
        'link_code_invalid',
        'That link code is unknown, already used or expired. Ask an admin for a new one: renderbot admin link code --tenant <slug>',
      );
    return linkWorkspace(tx, used.tenant, platform, externalId);
  });
}

/** Links a workspace to a tenant (idempotent for the same tenant). */
export async function linkWorkspace(
  em: EntityManager,
  tenantId: string,
  platform: LinkPlatform,
  externalId: string,
): Promise<TenantRow> {
  await db(em)
    .insertInto('platform_link')
    .values({ tenant: tenantId, platform, externalId })
    .onConflict((oc) => oc.columns(['platform', 'externalId']).doNothing())
    .execute();
  const link = await db(em)
    .selectFrom('platform_link')
    .select('tenant')
    .where('platform', '=', platform)
    .where('externalId', '=', externalId)
    .executeTakeFirst();
  const tenant = link?.tenant === tenantId ? await getTenantById(em, tenantId) : undefined;
  if (!tenant) {
    throw new UserInputError(
      'workspace_linked_elsewhere',
      `This ${platform} workspace is already linked to another tenant. An admin must unlink it first.`,
    );
  }
  return tenant;
}

/** The tenant a workspace is linked to, if any. */
export async function resolveLink(
  em: EntityManager,
  platform: LinkPlatform,
  externalId: string,
): Promise<TenantRow | undefined> {
  return db(em)
    .selectFrom('platform_link as l')
    .innerJoin('tenant as t', 't.id', 'l.tenant')
    .select(tenantColumns.map((c) => `t.${c}` as const))
    .where('l.platform', '=', platform)
    .where('l.externalId', '=', externalId)
    .executeTakeFirst();
}
