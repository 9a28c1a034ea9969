import { z } from 'zod';
import { parseSync } from 'libpg-query';
import type { EntityManager } from '../db/orm.ts';
import { ModelBehaviourError } from '../errors.ts';
import { VIEW_NAMES } from './allowlist.ts';
import { guardSql } from './guard.ts';

/** Rows returned at most unless the caller asks for fewer. */
export const DEFAULT_ROW_CAP = 200;
/** Statement timeout in milliseconds unless the caller sets one. */
export const DEFAULT_TIMEOUT_MS = 3_000;
/** The database role guarded SQL runs as: SELECT on the tenant views, nothing else (see the initial migration). */
export const QUERY_ROLE = 'renderbot_query';

/** A guarded query's answer. `rows` are arrays in `columns` order, values as JSON (numbers, strings, objects). */
export type QueryResult = {
  /** Output column names in order; may repeat (`select a.id, b.id`); empty when there are no rows. */
  columns: string[];
  rows: unknown[][];
  rowCount: number;
  /** True when the query produced more rows than the cap and only the first `rowCap` are returned. */
  truncated: boolean;
};

/** Limits for one run. */
export type RunOptions = { rowCap?: number; timeoutMs?: number };

const optionsSchema = z.object({
  rowCap: z.number().int().min(1).max(10_000).default(DEFAULT_ROW_CAP),
  timeoutMs: z.number().int().min(1).max(60_000).default(DEFAULT_TIMEOUT_MS),
});

/** One output row as [column, value] pairs: keeps column order and repeated names. */
const cellsSchema = z.array(z.tuple([z.string(), z.unknown()])).nullable();

/**
 * Runs model-written SQL for `tenantId` (DESIGN §7). The guard must accept it first; then, on one
 * connection in a fresh transaction of its own: READ ONLY, a local statement timeout, a fixed
 * search_path and standard_conforming_strings (as the guard parsed it), the tenant id in `renderbot.tenant_id` (which the tenant views filter by), and
 * `SET LOCAL ROLE renderbot_query`, which can read only those views. The tenant never comes from
 * the SQL. Everything is transaction-local, so nothing survives on the pooled connection.
 * Guard rejections and PostgreSQL errors (syntax, timeout, permission) throw ModelBehaviourError
 * with a short message and no stack or SQL echo.
 */
export async function runGuardedQuery(em: EntityManager, tenantId: string, sql: string, opts: RunOptions = {}): Promise<QueryResult> {
  const { rowCap, timeoutMs } = optionsSchema.parse(opts);
  if (!z.uuid().safeParse(tenantId).success) throw new Error('runGuardedQuery: tenantId must be a UUID');
  const verdict = await guardSql(sql);
  if (!verdict.ok) throw new ModelBehaviourError('sql_rejected', `Query rejected: ${verdict.reason}`);
  const statement = verdict.statement;
  // The newline ends a trailing `-- comment` inside the parentheses.
  const main = `select (select json_agg(json_build_array(e.key, e.value) order by e.n)
      from json_each(row_to_json(q)) with ordinality as e(key, value, n)) as cells
    from (\n${statement}\n) as q limit ${rowCap + 1}`;
  assertSingleStatement(main);

  // A new top-level transaction on its own connection, never a savepoint of the caller's, so SET LOCAL ends with it.
  return em.fork().transactional(async (tx) => {
    await tx.execute('set transaction read only');
    // The guard parses with standard_conforming_strings on; off, a backslash would escape the next quote and
    // text the guard saw inside a literal could run as SQL. search_path puts pg_catalog first, pg_temp last.
    await tx.execute(`select set_config('statement_timeout', ?, true), set_config('standard_conforming_strings', 'on', true),
      set_config('search_path', 'pg_catalog, public, pg_temp', true), set_config('renderbot.tenant_id', ?, true)`,
    [String(timeoutMs), tenantId]);
    await tx.execute(`set local role ${QUERY_ROLE}`);
    const raw = await execute(tx, main, timeoutMs);
    const rows = raw.map((r) => cellsSchema.parse(r.cells) ?? []);
    const truncated = rows.length > rowCap;
    const kept = truncated ? rows.slice(0, rowCap) : rows;
    return {
      columns: kept[0]?.map(([name]) => name) ?? [],
      rows: kept.map((cells) => cells.map(([, value]) => value)),
      rowCount: kept.length,
      truncated,
    };
  }, { propagation: 'requires_new' });
}

async function execute(tx: EntityManager, sql: string, timeoutMs: number): Promise<{ cells: unknown }[]> {
  try {
    return await tx.execute<{ cells: unknown }[]>(sql);
  } catch (err) {
    throw toModelError(err, timeoutMs);
  }
}

/** Defence in depth: the wrapped text must still parse as exactly one statement. */
function assertSingleStatement(sql: string): void {
  const parsed = parseSync(sql) as { stmts?: unknown[] };
  if (parsed.stmts?.length !== 1) throw new ModelBehaviourError('sql_rejected', 'Query rejected: send exactly one SELECT statement.');
}

const pgErrorSchema = z.object({ code: z.string().optional(), message: z.string(), hint: z.string().nullish() });

/** PostgreSQL's complaint (first line, plus its hint), for the model to fix its query; never the stack or the wrapped SQL. */
function toModelError(err: unknown, timeoutMs: number): ModelBehaviourError {
  const parsed = pgErrorSchema.safeParse(err);
  if (!parsed.success) return new ModelBehaviourError('sql_error', 'The query failed.', { cause: err });
  const { code, message, hint } = parsed.data;
  if (code === '57014') {
    return new ModelBehaviourError('sql_timeout',
      `The query ran longer than ${timeoutMs} ms and was cancelled. Simplify it: filter earlier, aggregate, or avoid cross joins.`, { cause: err });
  }
  if (code === '42501') {
    return new ModelBehaviourError('sql_rejected',
      `Permission denied: only the views ${[...VIEW_NAMES].join(', ')} can be read.`, { cause: err });
  }
  const first = message.split('\n')[0] ?? '';
  const text = hint ? `${first}. Hint: ${hint}` : first;
  return new ModelBehaviourError('sql_error', `PostgreSQL rejected the query: ${text.slice(0, 400)}`, { cause: err });
}
