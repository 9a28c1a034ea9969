import { z } from 'zod';
import { defineTool } from './tool.ts';
import { FUNCTION_GROUPS, QUERY_VIEWS } from '../sql/allowlist.ts';
import { DEFAULT_ROW_CAP, DEFAULT_TIMEOUT_MS, RESULT_BYTES, runGuardedQuery, VALUE_CHARS } from '../sql/runner.ts';
import { ConfigError } from '../errors.ts';
import type { ReplyBlock } from '../replies/reply.ts';
import { ellipsize } from '../replies/format.ts';

/** Rows shown in the reply table; the model still receives up to the full row cap. */
const DISPLAY_ROWS = 20;
/** Longest cell text shown in the reply table. */
const MAX_CELL = 200;

const views = Object.entries(QUERY_VIEWS)
  .map(([name, cols]) => `${name}(${cols.join(', ')})`)
  .join('; ');
const functions = Object.entries(FUNCTION_GROUPS)
  .map(([group, fns]) => `${group}: ${fns.join(', ')}`)
  .join('; ');

/**
 * Read-only SQL over the caller's own data (docs/design.md §7): guarded, run as a role that reads only the
 * tenant views, in a read-only transaction with a timeout and a row cap. Rejections come back to the
 * model as ModelBehaviourError with the reason, so it can rewrite the query.
 */
export const queryDatabaseTool = defineTool({
  name: 'query_database',
  kind: 'read',
  description:
    'Run one read-only PostgreSQL SELECT for analytics the other tools cannot answer (counts, trends, breakdowns). ' +
    "The views already contain only this tenant's rows; do not filter by tenant. " +
    `Views and columns: ${views}. ` +
    'Join on ids: v_order_items.order_id = v_orders.id, v_order_items.product_id = v_products.id, v_render_jobs.order_id = v_orders.id. ' +
    'Order statuses: draft, submitted, rendering, completed, failed, cancelled; job statuses: queued, running, completed, failed. ' +
    "Rules: exactly one SELECT (WITH, UNION, subqueries, window functions and jsonb operators such as attributes->>'color' are fine); " +
    'only these views by their bare names (no schemas, tables or catalogs); no writes, SET, locking or INTO; ' +
    `casts only to plain types; functions only from this list — ${functions}; plus coalesce, nullif, greatest, least and CASE. ` +
    `At most ${DEFAULT_ROW_CAP} rows and ${RESULT_BYTES / 1024} KB are returned (truncated=true means there were more: aggregate or add ORDER BY … LIMIT); ` +
    `values longer than ${VALUE_CHARS} characters are cut (values_cut=true). ` +
    `queries time out after ${DEFAULT_TIMEOUT_MS / 1000} s. Give columns distinct aliases. A rejected query comes back with the reason; fix it and retry.`,
  parameters: z.object({
    sql: z
      .string()
      .min(1)
      .max(10_000)
      .describe(
        'One PostgreSQL SELECT over the v_* views, e.g. "select status, count(*) from v_orders group by status order by 2 desc".',
      ),
  }),
  stepTitle: () => 'Querying the database…',
  async run(ctx, args) {
    ctx.log.debug({ sql: args.sql }, 'query_database');
    if (!ctx.queryPool) throw new ConfigError('query_unavailable', 'query_database is not available here.');
    const result = await runGuardedQuery(ctx.queryPool, ctx.turn.tenantId, args.sql);
    const more = result.truncated ? ` (first ${result.rowCount}; more rows exist)` : '';
    const blocks: ReplyBlock[] =
      result.rowCount === 0
        ? [{ type: 'text', text: 'The query returned no rows.' }]
        : [
            {
              type: 'table',
              title: `Query result: ${result.rowCount} row${result.rowCount === 1 ? '' : 's'}${more}`,
              columns: result.columns,
              rows: result.rows.slice(0, DISPLAY_ROWS).map((row) => row.map(cellText)),
              total: result.rowCount,
              truncated: result.truncated || result.rowCount > DISPLAY_ROWS,
            },
          ];
    return {
      data: {
        columns: result.columns,
        rows: result.rows,
        row_count: result.rowCount,
        truncated: result.truncated,
        ...(result.valuesCut || result.truncated ? { note: limitsNote(result.truncated, result.valuesCut) } : {}),
        ...(result.valuesCut ? { values_cut: true } : {}),
      },
      blocks,
      outcome: `${result.rowCount} row${result.rowCount === 1 ? '' : 's'}`,
      summary: `query_database returned ${result.rowCount} row${result.rowCount === 1 ? '' : 's'}${more}`,
    };
  },
});

/** A table cell as text: null as an em dash, objects as compact JSON, long values shortened. */
function cellText(value: unknown): string {
  const text =
    value === null || value === undefined ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return ellipsize(text, MAX_CELL);
}

/** Tells the model what it did not get, so it can ask a narrower query. */
function limitsNote(truncated: boolean, valuesCut: boolean): string {
  const parts = [
    truncated ? `the result stopped at ${DEFAULT_ROW_CAP} rows or ${RESULT_BYTES / 1024} KB; more rows exist` : '',
    valuesCut ? `values longer than ${VALUE_CHARS} characters were cut` : '',
  ].filter(Boolean);
  return `Truncated: ${parts.join('; ')}. Aggregate, filter, or select fewer and shorter columns.`;
}
