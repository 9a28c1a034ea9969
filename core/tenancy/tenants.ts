import { z } from 'zod';
import { query, queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';

export const tenantSlugSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'use 2–63 lowercase letters, digits or dashes');

/** A tenant as the core sees it (never includes the encrypted key). */
export type TenantRow = {
  id: string; slug: string; name: string; ai_provider: 'azure' | 'openai' | null; monthly_token_limit: string | null; created_at: string;
  /** Concurrent model calls allowed per process (DESIGN §4). */
  ai_max_concurrency: number;
  /** A lowered cap after the provider answered 429, valid until `ai_throttled_until`. */
  ai_throttle_cap: number | null;
  ai_throttled_until: string | null;
};

const columns = 'id, slug, name, ai_provider, monthly_token_limit, created_at, ai_max_concurrency, ai_throttle_cap, ai_throttled_until';

/** Creates a tenant; a duplicate slug is a clear user error. */
export async function createTenant(em: EntityManager, input: { slug: string; name: string }): Promise<TenantRow> {
  const parsed = tenantSlugSchema.safeParse(input.slug);
  if (!parsed.success) throw new UserInputError('tenant_slug_invalid', `Tenant slug "${input.slug}" is invalid: ${parsed.error.issues[0]?.message}`);
  const slug = parsed.data;
  const row = await queryOne<TenantRow>(em, `insert into tenant (slug, name) values (?, ?) on conflict (slug) do nothing returning ${columns}`, [slug, input.name]);
  if (!row) throw new UserInputError('tenant_exists', `A tenant with slug "${slug}" already exists.`);
  return row;
}

/** Finds a tenant by slug or throws a user error naming it. */
export async function getTenantBySlug(em: EntityManager, slug: string): Promise<TenantRow> {
  const row = await queryOne<TenantRow>(em, `select ${columns} from tenant where slug = ?`, [slug]);
  if (!row) throw new UserInputError('tenant_not_found', `No tenant with slug "${slug}". List them with: renderbot admin tenant list`);
  return row;
}

export async function getTenantById(em: EntityManager, id: string): Promise<TenantRow | undefined> {
  return queryOne<TenantRow>(em, `select ${columns} from tenant where id = ?`, [id]);
}

export async function listTenants(em: EntityManager): Promise<TenantRow[]> {
  return query<TenantRow>(em, `select ${columns} from tenant order by slug`);
}
