import type { EntityManager } from './orm.ts';

/** Runs parameterised SQL on `em` (respecting its transaction) and returns the rows. */
export async function query<T extends object>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await em.execute(sql, params)) as T[];
}

/** Like `query`, for statements that return at most one row. */
export async function queryOne<T extends object>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return (await query<T>(em, sql, params))[0];
}

/**
 * A PostgreSQL array literal for `?::type[]` parameters (the ORM expands a JS array into a
 * list of placeholders): `pgArray(['a', 'b"c'])` → `{"a","b\"c"}`.
 */
export function pgArray(values: readonly (string | number)[]): string {
  return `{${values.map((v) => `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}
