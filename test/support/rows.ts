import type pg from 'pg';
import type { z } from 'zod';
import { countRow, row, rows } from '../../core/db/sql.ts';
import type { EntityManager } from '../../core/db/orm.ts';

/*
 * Tests read rows through the same typed helpers as the code: `rows`/`row` (core/db/sql.ts) parse
 * every row with a zod schema, so a test's idea of a row is checked, never asserted with `as`.
 */
export { row, rows };

/** The `n` of a `select count(*) … as n` (0 when it returns no row). */
export async function countOf(em: EntityManager, sql: string, params: unknown[] = []): Promise<number> {
  return (await row(em, countRow, sql, params))?.n ?? 0;
}

/**
 * Like `rows`, for a pg client or pool of its own (no EntityManager): `$1`-style parameters, and
 * every row parsed by `schema`.
 */
async function pgRows<S extends z.ZodType>(
  client: pg.ClientBase | pg.Pool,
  schema: S,
  sql: string,
  params: unknown[] = [],
): Promise<z.output<S>[]> {
  const result: unknown[] = (await client.query(sql, params)).rows;
  return result.map((r) => schema.parse(r));
}

/** Like `pgRows`, for statements that return at most one row. */
export async function pgRow<S extends z.ZodType>(
  client: pg.ClientBase | pg.Pool,
  schema: S,
  sql: string,
  params: unknown[] = [],
): Promise<z.output<S> | undefined> {
  return (await pgRows(client, schema, sql, params))[0];
}
