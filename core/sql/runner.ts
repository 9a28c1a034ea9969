import { z } from 'zod';
import { isUuid } from '../db/sql.ts';
import { parseSync } from 'libpg-query';
import type pg from 'pg';
import type { QueryPool } from '../db/query-pool.ts';
import { ModelBehaviourError } from '../errors.ts';
import { VIEW_NAMES } from './allowlist.ts';
import { guardSql } from './guard.ts';

/** Rows returned at most unless the caller asks for fewer. */
export const DEFAULT_ROW_CAP = 200;
/** Statement timeout in milliseconds unless the caller sets one (for the whole read, not per fetch). */
export const DEFAULT_TIMEOUT_MS = 3_000;
/** Characters kept of one value (a text, or the JSON text of an array or object); PostgreSQL cuts longer ones. */
export const VALUE_CHARS = 2_000;
/**
 * Bytes of JSON (cells with their column names) read at most for one result; reading stops there.
 * Below the 48,000 characters the prompt window passes on of a current tool result, so the model
 * always gets the result as complete JSON.
 */
export const RESULT_BYTES = 44 * 1024;
/** The database role guarded SQL runs as: SELECT on the tenant views, nothing else (see the initial migration). */
export const QUERY_ROLE = 'renderbot_query';
/** Rows fetched per round trip from the cursor (each row is at most RESULT_BYTES plus one value). */
const FETCH_ROWS = 10;
/**
 * Working memory of each sort, hash, grouping or materialising step of a guarded query before it
 * spills to disk; hash tables get no more than that (hash_mem_multiplier 1). The guard allows at
 * most MAX_STEPS such steps (budget.ts).
 */
const QUERY_WORK_MEM = '1MB';
/**
 * Temporary files one guarded query may write when its sorts and hashes spill. PostgreSQL lets only
 * a superuser, or a user granted SET on it (PostgreSQL ≥ 15), set temp_file_limit; otherwise the
 * runner cannot and the statement timeout alone bounds them. (ALTER ROLE renderbot_query SET … does
 * not help: role settings apply when a session logs in, not on SET ROLE.)
 */
const QUERY_TEMP_FILES = '256MB';

/** A guarded query's result. `rows` are arrays in `columns` order, values as JSON (numbers, strings, objects). */
export type QueryResult = {
  /** Output column names in order; may repeat (`select a.id, b.id`); empty when there are no rows. */
  columns: string[];
  rows: unknown[][];
  rowCount: number;
  /** True when the query produced more rows than the cap or the byte budget allowed; only the first ones are returned. */
  truncated: boolean;
  /** True when some values were longer than VALUE_CHARS (or a row wider than RESULT_BYTES) and were cut. */
  valuesCut: boolean;
};

/** Limits for one run. */
export type RunOptions = { rowCap?: number; timeoutMs?: number };

const optionsSchema = z.object({
  rowCap: z.number().int().min(1).max(10_000).default(DEFAULT_ROW_CAP),
  timeoutMs: z.number().int().min(1).max(60_000).default(DEFAULT_TIMEOUT_MS),
});

/** One output row as [column, value] pairs: keeps column order and repeated names. */
const cellsSchema = z.array(z.tuple([z.string(), z.unknown()])).nullable();
const fetchedSchema = z.object({ cells: cellsSchema, cut: z.boolean(), bytes: z.coerce.number() });
const roleSchema = z.object({ superuser: z.boolean(), parameterGrants: z.boolean() });
const grantSchema = z.object({ granted: z.boolean() });

/**
 * The model's statement wrapped so that PostgreSQL itself bounds what it sends: each value is cut
 * to VALUE_CHARS characters and each row to RESULT_BYTES of JSON before it leaves the server, so
 * a hostile `rpad('x', 5000000, 'y')` never reaches this process. The newline ends a trailing
 * `-- comment` inside the parentheses.
 */
function wrap(statement: string, rowCap: number): string {
  const isString = `json_typeof(j.value) = 'string'`;
  return `select c.cells, c.cut, octet_length(c.cells::text) as bytes
    from (\n${statement}\n) as q
    cross join lateral (
      select json_agg(json_build_array(v.key, v.value) order by v.n) filter (where v.used <= ${RESULT_BYTES}) as cells,
        coalesce(bool_or(v.cut or v.used > ${RESULT_BYTES}), false) as cut
      from (
        select e.key, e.n, e.value, e.cut, sum(octet_length(e.value::text) + octet_length(e.key) + 8) over (order by e.n) as used
        from (
          select j.key, j.n, j.cut,
            case when not j.cut then j.value
              when ${isString} then to_json(left(j.value #>> '{}', ${VALUE_CHARS}))
              else to_json(left(j.value::text, ${VALUE_CHARS})) end as value
          from (
            select j.key, j.n, j.value,
              case when ${isString} then length(j.value #>> '{}') > ${VALUE_CHARS} else length(j.value::text) > ${VALUE_CHARS} end as cut
            from json_each(row_to_json(q)) with ordinality as j(key, value, n)
          ) j
        ) e
      ) v
    ) c
    limit ${rowCap + 1}`;
}

/**
 * Runs model-written SQL for `tenantId` (docs/design.md §7) on `pool`, the small pool kept for model SQL
 * (so heavy queries wait for each other, never for the connections that serve other requests).
 * The guard must accept it first; then, on one connection in a transaction of its own: READ
 * ONLY, a statement timeout, a fixed search_path and standard_conforming_strings (as the guard
 * parsed it), the tenant id in `renderbot.tenant_id` (which the tenant views filter by), and
 * `SET LOCAL ROLE renderbot_query`, which can read only those views. The tenant never comes from
 * the SQL. Rows are read through a cursor a few at a time and reading stops at the row cap or
 * RESULT_BYTES; values are cut by PostgreSQL (see `wrap`). Everything is transaction-local, so
 * nothing survives on the pooled connection. Guard rejections and PostgreSQL errors (syntax,
 * timeout, permission) throw ModelBehaviourError with a short message and no stack or SQL echo.
 *
 * Memory: PostgreSQL has no limit per connection, so the guard proves a bound before the query
 * runs: per row at most MAX_BUILT_BYTES of values plus MAX_STORED_COPIES copies of the largest
 * stored text or jsonb value, at most MAX_EXPRESSIONS planned expressions, MAX_TABLES tables and
 * MAX_STEPS sort/hash steps (budget.ts), nothing PostgreSQL keeps in memory without limit
 * (shapes.ts) and only small regular expressions (regex.ts). The runner gives each step
 * QUERY_WORK_MEM (hashes no more), turns JIT compilation off and, where the database user may,
 * caps temporary files at QUERY_TEMP_FILES. One growth is left to the statement timeout: a hash
 * join keeps in memory all rows of its hashed side that share one key.
 */
export async function runGuardedQuery(
  pool: QueryPool,
  tenantId: string,
  sql: string,
  opts: RunOptions = {},
): Promise<QueryResult> {
  const { rowCap, timeoutMs } = optionsSchema.parse(opts);
  if (!isUuid(tenantId)) throw new Error('runGuardedQuery: tenantId must be a UUID');
  const verdict = await guardSql(sql);
  if (!verdict.ok) throw new ModelBehaviourError('sql_rejected', `Query rejected: ${verdict.reason}`);
  const main = wrap(verdict.statement, rowCap);
  assertSingleStatement(main);

  const client = await connect(pool);
  let broken: Error | undefined;
  try {
    const limitTempFiles = await mayLimitTempFiles(pool, client);
    const deadline = Date.now() + timeoutMs;
    await client.query('begin read only');
    // The guard parses with standard_conforming_strings on; off, a backslash would escape the next quote and
    // text the guard saw inside a literal could run as SQL. search_path puts pg_catalog first, pg_temp last.
    await client.query(
      `select set_config('statement_timeout', $1, true), set_config('standard_conforming_strings', 'on', true),
      set_config('search_path', 'pg_catalog, public, pg_temp', true), set_config('renderbot.tenant_id', $2, true),
      set_config('work_mem', $3, true), set_config('hash_mem_multiplier', '1', true), set_config('jit', 'off', true)
      ${limitTempFiles ? `, set_config('temp_file_limit', $4, true)` : ''}`,
      [String(timeoutMs), tenantId, QUERY_WORK_MEM, ...(limitTempFiles ? [QUERY_TEMP_FILES] : [])],
    );
    await client.query(`set local role ${QUERY_ROLE}`);
    await client.query(`declare renderbot_q no scroll cursor for ${main}`);
    const rows: [string, unknown][][] = [];
    let bytes = 0;
    let truncated = false;
    let valuesCut = false;
    read: for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
      // Each fetch may use only what is left of the timeout: the limit holds for the whole read.
      const results = (await client.query(
        `set local statement_timeout = ${Math.ceil(remaining)}; fetch ${FETCH_ROWS} from renderbot_q`,
      )) as unknown as pg.QueryResult[];
      const batch = results.at(-1)!.rows.map((r) => fetchedSchema.parse(r));
      for (const row of batch) {
        if (rows.length === rowCap || (rows.length > 0 && bytes + row.bytes > RESULT_BYTES)) {
          truncated = true;
          break read;
        }
        bytes += row.bytes;
        valuesCut ||= row.cut;
        rows.push(row.cells ?? []);
      }
      if (batch.length < FETCH_ROWS) break;
    }
    await client.query('rollback');
    return {
      columns: rows[0]?.map(([name]) => name) ?? [],
      rows: rows.map((cells) => cells.map(([, value]) => value)),
      rowCount: rows.length,
      truncated,
      valuesCut,
    };
  } catch (err) {
    await client.query('rollback').catch((e: unknown) => {
      broken = e instanceof Error ? e : new Error(String(e));
    });
    throw err instanceof ModelBehaviourError ? err : toModelError(err, timeoutMs);
  } finally {
    client.release(broken);
  }
}

/** A connection of the query pool; when all are busy for long, the model hears that the database is busy. */
async function connect(pool: QueryPool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (err) {
    throw new ModelBehaviourError(
      'sql_busy',
      'The database is busy with other queries right now; try again in a moment or ask for less.',
      { cause: err },
    );
  }
}

const tempFileRights = new WeakMap<QueryPool, Promise<boolean>>();

/**
 * Whether the pool's database user may set temp_file_limit: a superuser may, others only when
 * granted SET on it (PostgreSQL ≥ 15). Asked once per pool; a failed question is asked again.
 */
function mayLimitTempFiles(pool: QueryPool, client: pg.PoolClient): Promise<boolean> {
  let known = tempFileRights.get(pool);
  if (!known) {
    known = askTempFileRights(client);
    tempFileRights.set(pool, known);
    known.catch(() => tempFileRights.delete(pool));
  }
  return known.catch(() => false);
}

async function askTempFileRights(client: pg.PoolClient): Promise<boolean> {
  const role = roleSchema.parse(
    (
      await client.query(`select current_setting('is_superuser') = 'on' as superuser,
    current_setting('server_version_num')::int >= 150000 as "parameterGrants"`)
    ).rows[0],
  );
  if (role.superuser || !role.parameterGrants) return role.superuser;
  // Its own statement: PostgreSQL 14 has no has_parameter_privilege and would refuse the whole query.
  return grantSchema.parse(
    (await client.query(`select has_parameter_privilege('temp_file_limit', 'SET') as granted`)).rows[0],
  ).granted;
}

/** Defence in depth: the wrapped text must still parse as exactly one statement. */
function assertSingleStatement(sql: string): void {
  const parsed = parseSync(sql) as { stmts?: unknown[] };
  if (parsed.stmts?.length !== 1)
    throw new ModelBehaviourError('sql_rejected', 'Query rejected: send exactly one SELECT statement.');
}

const pgErrorSchema = z.object({ code: z.string().optional(), message: z.string(), hint: z.string().nullish() });

/** PostgreSQL's complaint (first line, plus its hint), for the model to fix its query; never the stack or the wrapped SQL. */
function toModelError(err: unknown, timeoutMs: number): ModelBehaviourError {
  const parsed = pgErrorSchema.safeParse(err);
  if (!parsed.success) return new ModelBehaviourError('sql_error', 'The query failed.', { cause: err });
  const { code, message, hint } = parsed.data;
  if (code === '57014') {
    return new ModelBehaviourError(
      'sql_timeout',
      `The query ran longer than ${timeoutMs} ms and was cancelled. Simplify it: filter earlier, aggregate, or avoid cross joins.`,
      { cause: err },
    );
  }
  if (code === '42501') {
    return new ModelBehaviourError(
      'sql_rejected',
      `Permission denied: only the views ${[...VIEW_NAMES].join(', ')} can be read.`,
      { cause: err },
    );
  }
  const first = message.split('\n')[0] ?? '';
  const text = hint ? `${first}. Hint: ${hint}` : first;
  return new ModelBehaviourError('sql_error', `PostgreSQL rejected the query: ${text.slice(0, 400)}`, { cause: err });
}
