import { z } from 'zod';
import type { Updateable } from 'kysely';
import { db, type Database, type Row } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';

const tenantSlugSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'use 2–63 lowercase letters, digits or dashes');

/**
 * A tenant as the core sees it (never its encrypted secrets). `aiMaxConcurrency` caps its
 * concurrent model calls per process (docs/design.md §4); after a 429 the cap is `aiThrottleCap` until
 * `aiThrottledUntil`.
 */
export type TenantRow = Pick<
  Row<'tenant'>,
  | 'id'
  | 'slug'
  | 'name'
  | 'aiProvider'
  | 'monthlyTokenLimit'
  | 'createdAt'
  | 'aiMaxConcurrency'
  | 'aiThrottleCap'
  | 'aiThrottledUntil'
>;

/** The columns of a `TenantRow`, for selects and `returning`. */
export const tenantColumns = [
  'id',
  'slug',
  'name',
  'aiProvider',
  'monthlyTokenLimit',
  'createdAt',
  'aiMaxConcurrency',
  'aiThrottleCap',
  'aiThrottledUntil',
] as const;

/** Creates a tenant; a duplicate slug is a clear user error. */
export async function createTenant(em: EntityManager, input: { slug: string; name: string }): Promise<TenantRow> {
  const parsed = tenantSlugSchema.safeParse(input.slug);
  if (!parsed.success)
    throw new UserInputError(
      'tenant_slug_invalid',
      `Tenant slug "${input.slug}" is invalid: ${parsed.error.issues[0]?.message}`,
    );
  const slug = parsed.data;
  const row = await db(em)
    .insertInto('tenant')
    .values({ slug, name: input.name })
    .onConflict((oc) => oc.column('slug').doNothing())
    .returning(tenantColumns)
    .executeTakeFirst();
  if (!row) throw new UserInputError('tenant_exists', `A tenant with slug "${slug}" already exists.`);
  return row;
}

/** Finds a tenant by slug or throws a user error naming it. */
export async function getTenantBySlug(em: EntityManager, slug: string): Promise<TenantRow> {
  const row = await db(em).selectFrom('tenant').select(tenantColumns).where('slug', '=', slug).executeTakeFirst();
  if (!row)
    throw new UserInputError(
      'tenant_not_found',
      `No tenant with slug "${slug}". List them with: renderbot admin tenant list`,
    );
  return row;
}

export async function getTenantById(em: EntityManager, id: string): Promise<TenantRow | undefined> {
  return db(em).selectFrom('tenant').select(tenantColumns).where('id', '=', id).executeTakeFirst();
}

export async function listTenants(em: EntityManager): Promise<TenantRow[]> {
  return db(em).selectFrom('tenant').select(tenantColumns).orderBy('slug').execute();
}

/** Sets a tenant's monthly token limit (null: none). */
export async function setTokenLimit(em: EntityManager, tenantId: string, limit: number | null): Promise<void> {
  await db(em).updateTable('tenant').set({ monthlyTokenLimit: limit }).where('id', '=', tenantId).execute();
}

/*
 * The tenant row is written here only. Its AI and renderer columns are validated (and their
 * secrets encrypted) by core/llm and core/renders, which store them through these functions.
 */

/** Sets how many model calls of the tenant one process makes at once (validated by core/llm/capacity.ts). */
export async function setTenantModelConcurrency(em: EntityManager, tenantId: string, max: number): Promise<void> {
  await db(em).updateTable('tenant').set({ aiMaxConcurrency: max }).where('id', '=', tenantId).execute();
}

/** Records the tenant's lowered model cap after its provider answered 429, valid until `until`. */
export async function setTenantThrottle(em: EntityManager, tenantId: string, cap: number, until: Date): Promise<void> {
  await db(em)
    .updateTable('tenant')
    .set({ aiThrottleCap: cap, aiThrottledUntil: until })
    .where('id', '=', tenantId)
    .execute();
}

/** A tenant's AI configuration as its row stores it (the key encrypted). */
export type StoredAi = Pick<Row<'tenant'>, 'aiProvider' | 'aiSettings' | 'aiKeyEncrypted'>;

/** Stores a validated AI configuration (the key already encrypted); false for an unknown tenant. */
export async function storeTenantAi(em: EntityManager, tenantId: string, ai: StoredAi): Promise<boolean> {
  const row = await db(em).updateTable('tenant').set(ai).where('id', '=', tenantId).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** Stores a validated renderer (the farm secret already encrypted). */
export async function storeTenantRenderer(
  em: EntityManager,
  tenantId: string,
  renderer: Required<
    Pick<
      Updateable<Database['tenant']>,
      'rendererBackend' | 'rendererUrl' | 'rendererSecretEncrypted' | 'rendererPrivateNetwork'
    >
  >,
): Promise<void> {
  await db(em).updateTable('tenant').set(renderer).where('id', '=', tenantId).execute();
}
