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
