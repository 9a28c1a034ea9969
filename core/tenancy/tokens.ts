import { createHash, randomBytes } from 'node:crypto';
import { query, queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';
import type { Role } from './roles.ts';
import { ensureUser } from './users.ts';

/** Who an API token speaks for (the web channel's TurnContext source, DESIGN §2). */
export type TokenIdentity = { tokenId: string; tenantId: string; userId: string; role: Role };

/** A token as `admin token list` shows it (never the token itself). */
export type ApiTokenRow = { id: string; tenant_id: string; user_id: string; role: Role; label: string | null; created_at: string; last_used_at: string | null; revoked_at: string | null };

const TOKEN_PREFIX = 'rbt_';
const LOGIN_PREFIX = 'rbl_';
/** Login links are valid this long and only once. */
export const LOGIN_LINK_TTL_MS = 15 * 60_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const secret = (prefix: string) => prefix + randomBytes(32).toString('base64url');

/** Web user ids are the SaaS's own ids: printable, no spaces or colons (colons separate session key parts). */
export function checkWebUserId(userId: string): string {
  if (!/^[A-Za-z0-9._@+-]{1,128}$/.test(userId)) throw new UserInputError('bad_user_id', `User id "${userId}" is invalid: use 1–128 letters, digits or . _ @ + -`);
  return userId;
}

/**
 * Creates an API token for a user of a tenant with a role and returns the token once; only its
 * SHA-256 hash is stored. The user's tenant_user row (platform `web`) is created if missing.
 */
export async function createApiToken(em: EntityManager, input: { tenantId: string; userId: string; role: Role; label?: string }): Promise<{ id: string; token: string }> {
  checkWebUserId(input.userId);
  const token = secret(TOKEN_PREFIX);
  await ensureUser(em, input.tenantId, 'web', input.userId, input.role);
  const row = await queryOne<{ id: string }>(em,
    `insert into api_token (tenant_id, user_id, role, label, token_hash) values (?, ?, ?, ?, ?) returning id`,
    [input.tenantId, input.userId, input.role, input.label ?? null, sha256(token)]);
  return { id: row!.id, token };
}

/** The identity of a presented token, or undefined when it is unknown, malformed or revoked. */
export async function verifyApiToken(em: EntityManager, token: string): Promise<TokenIdentity | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const row = await queryOne<{ id: string; tenant_id: string; user_id: string; role: Role; stale: boolean }>(em,
    `select id, tenant_id, user_id, role, (last_used_at is null or last_used_at < now() - interval '1 minute') as stale
     from api_token where token_hash = ? and revoked_at is null`,
    [sha256(token)]);
  if (!row) return undefined;
  // last_used_at is coarse (a minute) so busy tokens don't write on every request.
  if (row.stale) await em.execute(`update api_token set last_used_at = now() where id = ?`, [row.id]);
  return { tokenId: row.id, tenantId: row.tenant_id, userId: row.user_id, role: row.role };
}

/** A tenant's tokens, newest first. */
export async function listApiTokens(em: EntityManager, tenantId: string): Promise<ApiTokenRow[]> {
  return query<ApiTokenRow>(em,
    `select id, tenant_id, user_id, role, label, created_at, last_used_at, revoked_at from api_token where tenant_id = ? order by created_at desc`, [tenantId]);
}

/** Revokes a token of the tenant; false when there is no such (unrevoked) token. */
export async function revokeApiToken(em: EntityManager, tenantId: string, tokenId: string): Promise<boolean> {
  const rows = await query(em, `update api_token set revoked_at = now() where tenant_id = ? and id::text = ? and revoked_at is null returning id`, [tenantId, tokenId]);
  return rows.length > 0;
}

/** Creates a one-time login code (15 minutes); exchanging it mints a token for the user. */
export async function createLoginCode(em: EntityManager, input: { tenantId: string; userId: string; role: Role; now: Date }): Promise<{ code: string; expiresAt: Date }> {
  checkWebUserId(input.userId);
  const code = secret(LOGIN_PREFIX);
  const expiresAt = new Date(input.now.getTime() + LOGIN_LINK_TTL_MS);
  await em.execute(`insert into web_login_code (tenant_id, user_id, role, code_hash, expires_at) values (?, ?, ?, ?, ?)`,
    [input.tenantId, input.userId, input.role, sha256(code), expiresAt]);
  return { code, expiresAt };
}

/**
 * Exchanges a login code for a new API token, exactly once and before it expires; undefined
 * for unknown, used or expired codes. Run it in a transaction so the claim and the token commit together.
 */
export async function redeemLoginCode(em: EntityManager, code: string): Promise<{ token: string; identity: TokenIdentity } | undefined> {
  if (!code.startsWith(LOGIN_PREFIX) || code.length > 200) return undefined;
  const row = await queryOne<{ tenant_id: string; user_id: string; role: Role }>(em,
    `update web_login_code set used_at = now() where code_hash = ? and used_at is null and expires_at > now() returning tenant_id, user_id, role`,
    [sha256(code)]);
  if (!row) return undefined;
  const created = await createApiToken(em, { tenantId: row.tenant_id, userId: row.user_id, role: row.role, label: 'login link' });
  return { token: created.token, identity: { tokenId: created.id, tenantId: row.tenant_id, userId: row.user_id, role: row.role } };
}
