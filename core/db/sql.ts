import type { RawBuilder } from 'kysely';
import { z } from 'zod';
import { db } from './kysely.ts';
import type { EntityManager } from './orm.ts';

/*
 * Raw SQL where it earns its place — set-based bulk statements, graphile-worker's add_jobs, the
 * session inbox and lease statements — with typed results: every row is parsed by a zod schema,
 * so a row's type is checked, never asserted. Everything else goes through `db()` (kysely.ts).
 */

/**
 * Runs parameterised SQL on `em` (respecting its transaction) and returns the rows `schema`
 * parses. Pass a schema made once (a module constant), not one built per call: building a zod
 * schema costs more than parsing a row with it.
 */
export async function rows<S extends z.ZodType>(
  em: EntityManager,
  schema: S,
  sql: string,
  params: unknown[] = [],
): Promise<z.output<S>[]> {
  const result: unknown[] = await em.execute(sql, params);
  return result.map((r) => schema.parse(r));
}

/** Like `rows`, for statements that return at most one row. */
export async function row<S extends z.ZodType>(
  em: EntityManager,
  schema: S,
  sql: string,
  params: unknown[] = [],
): Promise<z.output<S> | undefined> {
  return (await rows(em, schema, sql, params))[0];
}

/**
 * Like `rows`, for SQL written with Kysely's `sql` tag: each value sits where it is used and
 * fragments (`sql` values too) carry their own, so reordering or reusing a fragment cannot bind
 * the wrong value. Rows come back as the driver returns them (snake_case, bigint as text), like `rows`.
 */
export async function sqlRows<S extends z.ZodType>(
  em: EntityManager,
  schema: S,
  query: RawBuilder<unknown>,
): Promise<z.output<S>[]> {
  const result = await query.execute(db(em));
  return result.rows.map((r) => schema.parse(r));
}

/** Like `sqlRows`, for statements that return at most one row. */
export async function sqlRow<S extends z.ZodType>(
  em: EntityManager,
  schema: S,
  query: RawBuilder<unknown>,
): Promise<z.output<S> | undefined> {
  return (await sqlRows(em, schema, query))[0];
}

const uuidSchema = z.uuid();

/** Whether `value` is a UUID: checked before it meets a uuid column, which would refuse it with an error. */
export function isUuid(value: unknown): boolean {
  return uuidSchema.safeParse(value).success;
}

/** A row with one count `n` (PostgreSQL returns bigint counts as text). */
export const countRow = z.object({ n: z.coerce.number() });

/** A row with one `id` (uuids and bigint ids alike, as text). */
export const idRow = z.object({ id: z.string() });

/** A timestamp column as the driver returns it (text) or a Date, read as a Date. */
export const timestamp = z.union([z.date(), z.string()]).transform((v) => new Date(v));

/**
 * A PostgreSQL array literal for `?::type[]` parameters (the ORM expands a JS array into a
 * list of placeholders): `pgArray(['a', 'b"c'])` → `{"a","b\"c"}`.
 */
export function pgArray(values: readonly (string | number)[]): string {
  return `{${values.map((v) => `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}
