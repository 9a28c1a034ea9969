import { createHash, randomBytes } from 'node:crypto';
import { query, queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';
import type { Role } from './roles.ts';
import { ensureUser, setUserRole } from './users.ts';

/**
 * Who an API token speaks for (the web channel's TurnContext source, DESIGN §2). `role` is the
 * person's current role (their `tenant_user` row), never the role the token was created with.
 */
export type TokenIdentity = { tokenId: string; tenantId: string; userId: string; role: Role };

/** A token as `admin token list` shows it (never the token itself). */
export type ApiTokenRow = { id: string; tenant_id: string; user_id: string; role: Role | 'removed'; label: string | null; created_at: string; last_used_at: string | null; revoked_at: string | null };

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
 * Creates an API token for a user of a tenant and returns the token once; only its SHA-256 hash
 * is stored. An admin's explicit `role` becomes the person's role (platform `web`); the token
 * itself carries no role of its own.
 */
export async function createApiToken(em: EntityManager, input: { tenantId: string; userId: string; role: Role; label?: string }): Promise<{ id: string; token: string }> {
  checkWebUserId(input.userId);
  await setUserRole(em, input.tenantId, 'web', input.userId, input.role);
  return insertToken(em, input.tenantId, input.userId, input.role, input.label ?? null);
}

async function insertToken(em: EntityManager, tenantId: string, userId: string, role: Role, label: string | null): Promise<{ id: string; token: string }> {
  const token = secret(TOKEN_PREFIX);
  // api_token.role records the role at creation (for `token list`); authorization reads tenant_user.
  const row = await queryOne<{ id: string }>(em,
    `insert into api_token (tenant_id, user_id, role, label, token_hash) values (?, ?, ?, ?, ?) returning id`,
    [tenantId, userId, role, label, sha256(token)]);
  return { id: row!.id, token };
}

/**
 * The identity of a presented token with the person's current role, or undefined when the token
 * is unknown, malformed or revoked, or the person no longer belongs to the tenant.
 */
export async function verifyApiToken(em: EntityManager, token: string): Promise<TokenIdentity | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const row = await queryOne<{ id: string; tenant_id: string; user_id: string; role: Role; stale: boolean }>(em,
    `select t.id, t.tenant_id, t.user_id, u.role, (t.last_used_at is null or t.last_used_at < now() - interval '1 minute') as stale
     from api_token t join tenant_user u on u.tenant_id = t.tenant_id and u.platform = 'web' and u.external_user_id = t.user_id
     where t.token_hash = ? and t.revoked_at is null`,
    [sha256(token)]);
  if (!row) return undefined;
  // last_used_at is coarse (a minute) so busy tokens don't write on every request.
  if (row.stale) await em.execute(`update api_token set last_used_at = now() where id = ?`, [row.id]);
  return { tokenId: row.id, tenantId: row.tenant_id, userId: row.user_id, role: row.role };
}

/** A tenant's tokens, newest first, with each person's current role (`removed` tokens no longer work). */
export async function listApiTokens(em: EntityManager, tenantId: string): Promise<ApiTokenRow[]> {
  return query<ApiTokenRow>(em,
    `select t.id, t.tenant_id, t.user_id, coalesce(u.role, 'removed') as role, t.label, t.created_at, t.last_used_at, t.revoked_at
     from api_token t left join tenant_user u on u.tenant_id = t.tenant_id and u.platform = 'web' and u.external_user_id = t.user_id
     where t.tenant_id = ? order by t.created_at desc`, [tenantId]);
}

/** Revokes a token of the tenant; false when there is no such (unrevoked) token. */
export async function revokeApiToken(em: EntityManager, tenantId: string, tokenId: string): Promise<boolean> {
  const rows = await query(em, `update api_token set revoked_at = now() where tenant_id = ? and id::text = ? and revoked_at is null returning id`, [tenantId, tokenId]);
  return rows.length > 0;
}

/**
 * Creates a one-time login code (15 minutes); exchanging it mints a token for the user. The
 * admin's explicit `role` becomes the person's role now, so a later demotion is not undone by
 * redeeming the code.
 */
export async function createLoginCode(em: EntityManager, input: { tenantId: string; userId: string; role: Role; now: Date }): Promise<{ code: string; expiresAt: Date }> {
  checkWebUserId(input.userId);
  await setUserRole(em, input.tenantId, 'web', input.userId, input.role);
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
  // The person's current role wins over the one the code was made with (it may have changed since).
  const role = await ensureUser(em, row.tenant_id, 'web', row.user_id, row.role);
  const created = await insertToken(em, row.tenant_id, row.user_id, role, 'login link');
  return { token: created.token, identity: { tokenId: created.id, tenantId: row.tenant_id, userId: row.user_id, role } };
}
