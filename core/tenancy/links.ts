import { createHash, randomInt } from 'node:crypto';
import { queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';
import type { LinkPlatform } from './roles.ts';
import type { TenantRow } from './tenants.ts';

/** Link codes live 15 minutes and work once (DESIGN §2). */
export const LINK_CODE_TTL_MS = 15 * 60 * 1000;
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

const hash = (code: string) => createHash('sha256').update(code.trim().toUpperCase().replace(/[\s-]/g, '')).digest('hex');

/** Creates a one-time code like "K7QM-2XPA"; only its hash is stored. */
export async function createLinkCode(em: EntityManager, tenantId: string, now: Date): Promise<{ code: string; expiresAt: Date }> {
  const raw = Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  const expiresAt = new Date(now.getTime() + LINK_CODE_TTL_MS);
  await em.execute(`insert into link_code (tenant_id, code_hash, expires_at) values (?, ?, ?)`, [tenantId, hash(raw), expiresAt.toISOString()]);
  return { code: `${raw.slice(0, 4)}-${raw.slice(4)}`, expiresAt };
}

/**
 * Redeems a code for a workspace (Slack team / AAD tenant): single use, atomic, then links the
 * workspace. A workspace already linked to another tenant is not silently moved.
 */
export async function redeemLinkCode(em: EntityManager, code: string, platform: LinkPlatform, externalId: string, usedBy: string): Promise<TenantRow> {
  return em.transactional(async (tx) => {
    const used = await queryOne<{ tenant_id: string }>(tx,
      `update link_code set used_at = now(), used_by = ? where code_hash = ? and used_at is null and expires_at > now() returning tenant_id`,
      [usedBy, hash(code)]);
    if (!used) throw new UserInputError('link_code_invalid', 'That link code is unknown, already used or expired. Ask an admin for a new one: renderbot admin link code --tenant <slug>');
    return linkWorkspace(tx, used.tenant_id, platform, externalId);
  });
}

/** Links a workspace to a tenant (idempotent for the same tenant). */
export async function linkWorkspace(em: EntityManager, tenantId: string, platform: LinkPlatform, externalId: string): Promise<TenantRow> {
  await em.execute(`insert into platform_link (tenant_id, platform, external_id) values (?, ?, ?) on conflict (platform, external_id) do nothing`, [tenantId, platform, externalId]);
  const row = await queryOne<TenantRow & { link_tenant: string }>(em,
    `select t.id, t.slug, t.name, t.ai_provider, t.monthly_token_limit, t.created_at, l.tenant_id as link_tenant
     from platform_link l join tenant t on t.id = ? where l.platform = ? and l.external_id = ?`, [tenantId, platform, externalId]);
  if (!row || row.link_tenant !== tenantId) {
    throw new UserInputError('workspace_linked_elsewhere', `This ${platform} workspace is already linked to another tenant. An admin must unlink it first.`);
  }
  const { link_tenant: _ignored, ...tenant } = row;
  return tenant;
}

/** The tenant a workspace is linked to, if any. */
export async function resolveLink(em: EntityManager, platform: LinkPlatform, externalId: string): Promise<TenantRow | undefined> {
  return queryOne<TenantRow>(em,
    `select t.id, t.slug, t.name, t.ai_provider, t.monthly_token_limit, t.created_at from platform_link l join tenant t on t.id = l.tenant_id
     where l.platform = ? and l.external_id = ?`, [platform, externalId]);
}
