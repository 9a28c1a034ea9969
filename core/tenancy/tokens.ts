import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';
import type { Role } from './roles.ts';
import { ensureUser, setUserRole } from './users.ts';

/**
 * Who an API token speaks for (the web channel's TurnScope source, docs/design.md §2). `role` is the
 * person's current role (their `tenant_user` row), never the role the token was created with.
 */
export type TokenIdentity = { tokenId: string; tenantId: string; userId: string; role: Role };

/** A token as `admin token list` shows it (never the token itself). */
export type ApiTokenRow = {
  id: string;
  tenantId: string;
  userId: string;
  role: Role | 'removed';
  label: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

const TOKEN_PREFIX = 'rbt_';
const LOGIN_PREFIX = 'rbl_';
/** Login links are valid this long and only once. */
const LOGIN_LINK_TTL_MS = 15 * 60_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const secret = (prefix: string) => prefix + randomBytes(32).toString('base64url');

/** Web user ids are the SaaS's own ids: printable, no spaces or colons (colons separate session key parts). */
function checkWebUserId(userId: string): string {
  if (!/^[A-Za-z0-9._@+-]{1,128}$/.test(userId))
    throw new UserInputError('bad_user_id', `User id "${userId}" is invalid: use 1–128 letters, digits or . _ @ + -`);
  return userId;
}

/**
 * Creates an API token for a user of a tenant and returns the token once; only its SHA-256 hash
 * is stored. An admin's explicit `role` becomes the person's role (platform `web`); the token
 * itself carries no role of its own.
 */
export async function createApiToken(
  em: EntityManager,
  input: { tenantId: string; userId: string; role: Role; label?: string },
): Promise<{ id: string; token: string }> {
  checkWebUserId(input.userId);
  await setUserRole(em, input.tenantId, 'web', input.userId, input.role);
  return insertToken(em, input.tenantId, input.userId, input.role, input.label ?? null);
}

async function insertToken(
  em: EntityManager,
  tenantId: string,
  userId: string,
  role: Role,
  label: string | null,
): Promise<{ id: string; token: string }> {
  const token = secret(TOKEN_PREFIX);
  // api_token.role records the role at creation (for `token list`); authorization reads tenant_user.
  const row = await db(em)
    .insertInto('api_token')
    .values({ tenant: tenantId, userId, role, label, tokenHash: sha256(token) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token };
}

/**
 * The identity of a presented token with the person's current role, or undefined when the token
 * is unknown, malformed or revoked, or the person no longer belongs to the tenant.
 */
export async function verifyApiToken(em: EntityManager, token: string): Promise<TokenIdentity | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const row = await db(em)
    .selectFrom('api_token as t')
    .innerJoin('tenant_user as u', (j) =>
      j.onRef('u.tenant', '=', 't.tenant').on('u.platform', '=', 'web').onRef('u.externalUserId', '=', 't.userId'),
    )
    .select((eb) => [
      't.id',
      't.tenant',
      't.userId',
      'u.role',
      eb
        .or([eb('t.lastUsedAt', 'is', null), eb('t.lastUsedAt', '<', sql<Date>`now() - interval '1 minute'`)])
        .as('stale'),
    ])
    .where('t.tokenHash', '=', sha256(token))
    .where('t.revokedAt', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  // last_used_at is coarse (a minute) so busy tokens don't write on every request.
  if (row.stale)
    await db(em)
      .updateTable('api_token')
      .set({ lastUsedAt: sql<Date>`now()` })
      .where('id', '=', row.id)
      .execute();
  return { tokenId: row.id, tenantId: row.tenant, userId: row.userId, role: row.role };
}

/** A tenant's tokens, newest first, with each person's current role (`removed` tokens no longer work). */
export async function listApiTokens(em: EntityManager, tenantId: string): Promise<ApiTokenRow[]> {
  const rows = await db(em)
    .selectFrom('api_token as t')
    .leftJoin('tenant_user as u', (j) =>
      j.onRef('u.tenant', '=', 't.tenant').on('u.platform', '=', 'web').onRef('u.externalUserId', '=', 't.userId'),
    )
    .select(['t.id', 't.tenant', 't.userId', 'u.role', 't.label', 't.createdAt', 't.lastUsedAt', 't.revokedAt'])
    .where('t.tenant', '=', tenantId)
    .orderBy('t.createdAt', 'desc')
    .execute();
  return rows.map(({ tenant, role, ...r }) => ({ ...r, tenantId: tenant, role: role ?? 'removed' }));
}

/** Revokes a token of the tenant; false when there is no such (unrevoked) token. */
export async function revokeApiToken(em: EntityManager, tenantId: string, tokenId: string): Promise<boolean> {
  const revoked = await db(em)
    .updateTable('api_token')
    .set({ revokedAt: sql<Date>`now()` })
    .where('tenant', '=', tenantId)
    .where(sql<string>`id::text`, '=', tokenId)
    .where('revokedAt', 'is', null)
    .executeTakeFirst();
  return revoked.numUpdatedRows > 0n;
}

/**
 * Creates a one-time login code (15 minutes); exchanging it mints a token for the user. The
 * admin's explicit `role` becomes the person's role now, so a later demotion is not undone by
 * redeeming the code.
 */
export async function createLoginCode(
  em: EntityManager,
  input: { tenantId: string; userId: string; role: Role; now: Date },
): Promise<{ code: string; expiresAt: Date }> {
  checkWebUserId(input.userId);
  await setUserRole(em, input.tenantId, 'web', input.userId, input.role);
  const code = secret(LOGIN_PREFIX);
  const expiresAt = new Date(input.now.getTime() + LOGIN_LINK_TTL_MS);
  await db(em)
    .insertInto('web_login_code')
    .values({ tenant: input.tenantId, userId: input.userId, role: input.role, codeHash: sha256(code), expiresAt })
    .execute();
  return { code, expiresAt };
}

/**
 * Exchanges a login code for a new API token, exactly once and before it expires; undefined
 * for unknown, used or expired codes. Run it in a transaction so the claim and the token commit together.
 */
export async function redeemLoginCode(
  em: EntityManager,
  code: string,
): Promise<{ token: string; identity: TokenIdentity } | undefined> {
  if (!code.startsWith(LOGIN_PREFIX) || code.length > 200) return undefined;
  const row = await db(em)
    .updateTable('web_login_code')
    .set({ usedAt: sql<Date>`now()` })
    .where('codeHash', '=', sha256(code))
    .where('usedAt', 'is', null)
    .where('expiresAt', '>', sql<Date>`now()`)
    .returning(['tenant', 'userId', 'role'])
    .executeTakeFirst();
  if (!row) return undefined;
  // The person's current role wins over the one the code was made with (it may have changed since).
  const role = await ensureUser(em, row.tenant, 'web', row.userId, row.role);
  const created = await insertToken(em, row.tenant, row.userId, role, 'login link');
  return { token: created.token, identity: { tokenId: created.id, tenantId: row.tenant, userId: row.userId, role } };
}
