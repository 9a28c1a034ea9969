import type { EntityManager } from './orm.ts';

/** Runs parameterised SQL on `em` (respecting its transaction) and returns the rows. */
export async function query<T extends object>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await em.execute(sql, params)) as T[];
}

/** Like `query`, for statements that return at most one row. */
export async function queryOne<T extends object>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return (await query<T>(em, sql, params))[0];
}
