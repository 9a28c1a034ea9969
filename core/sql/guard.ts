import { loadModule, parseSync } from 'libpg-query';
import {
  ALLOWED_FUNCTIONS,
  ALLOWED_TYPES,
  ALLOWED_VALUE_FUNCTIONS,
  CATALOG_TYPES,
  DENIED_FUNCTIONS,
  FUNCTION_GROUPS,
  PLAIN_NODES,
  STATEMENT_LABELS,
  SYNTAX_FUNCTIONS,
  VIEW_FOR_TABLE,
  VIEW_NAMES,
} from './allowlist.ts';
import { budgetProblem } from './budget.ts';
import { emptyScope, isObject, names, selectScope, tagged, type NameScope } from './columns.ts';
import { unboundedShape } from './shapes.ts';

/** Longest SQL text the guard will look at, in characters. */
export const MAX_SQL_LENGTH = 10_000;
/** Deepest parse tree the guard walks (about 40 levels of nested subqueries or parentheses). */
const MAX_TREE_DEPTH = 300;

/**
 * The guard's verdict. When accepted, `statement` is the single statement's own text (without a
 * trailing semicolon or comments after it), ready to be wrapped as a subquery.
 */
export type GuardResult = { ok: true; statement: string } | { ok: false; reason: string };

type Json = { [key: string]: unknown };
type Scope = NameScope;

/** Thrown inside the walk to stop at the first problem; never escapes this module. */
class Rejection extends Error {}

const reject = (reason: string): never => {
  throw new Rejection(reason);
};

let loading: Promise<void> | undefined;

/** Loads the WASM parser once; `guardSql` calls it, callers may call it early to warm up. */
export function loadSqlParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

/**
 * Decides whether `sql` is safe to run for a tenant (docs/design.md §7): exactly one SELECT (UNION,
 * VALUES and WITH of SELECTs included) that reads only the tenant views or its own CTEs, calls
 * only allowlisted functions, casts only to plain types, and neither writes, locks, nor selects
 * INTO. The whole parse tree is walked, so nothing nested escapes. It must also fit in memory:
 * no shape PostgreSQL keeps in memory without limit (`unboundedShape`) and no more values,
 * expressions, tables or sort/hash steps than `budgetProblem` allows. Pure: no database.
 * Rejection reasons are written for the model, to let it correct its query.
 */
export async function guardSql(sql: string): Promise<GuardResult> {
  await loadSqlParser();
  return guardSqlSync(sql);
}

/** `guardSql` without the await; `loadSqlParser()` must have completed first. */
function guardSqlSync(sql: string): GuardResult {
  if (sql.length > MAX_SQL_LENGTH) {
    return {
      ok: false,
      reason: `The query is ${sql.length} characters long; the limit is ${MAX_SQL_LENGTH}. Write a shorter query.`,
    };
  }
  let parsed: { stmts?: { stmt?: Json; stmt_location?: number; stmt_len?: number }[] };
  try {
    parsed = parseSync(sql) as typeof parsed;
  } catch (err) {
    if (err instanceof RangeError) return { ok: false, reason: tooDeep };
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: `Syntax error: ${message}. Send one valid PostgreSQL SELECT statement.` };
  }
  if (treeDepth(parsed) > MAX_TREE_DEPTH) return { ok: false, reason: tooDeep };
  const stmts = parsed.stmts ?? [];
  if (stmts.length === 0) return { ok: false, reason: 'The query is empty. Send one SELECT statement.' };
  if (stmts.length > 1) {
    return {
      ok: false,
      reason: `Found ${stmts.length} statements; send exactly one SELECT statement (no semicolon-separated batches).`,
    };
  }
  const [entry] = stmts as [{ stmt?: Json; stmt_location?: number; stmt_len?: number }];
  try {
    const [type, inner] = tagged(entry.stmt ?? {}) ?? reject('The query is empty. Send one SELECT statement.');
    if (type !== 'SelectStmt') {
      const label = STATEMENT_LABELS[type] ?? type;
      reject(`Only a single read-only SELECT is allowed; found ${label}.`);
    }
    visitSelect(inner, emptyScope);
    const tooBig = unboundedShape(inner) ?? budgetProblem(inner);
    if (tooBig) reject(tooBig);
  } catch (err) {
    if (err instanceof Rejection) return { ok: false, reason: err.message };
    throw err;
  }
  // Parser offsets count UTF-8 bytes; a length of 0 means "to the end of the text".
  const bytes = Buffer.from(sql, 'utf8');
  const start = entry.stmt_location ?? 0;
  const end = entry.stmt_len ? start + entry.stmt_len : bytes.length;
  return { ok: true, statement: bytes.subarray(start, end).toString('utf8').trim() };
}

const tooDeep =
  'The query is nested too deeply (more than about 40 levels of subqueries or parentheses). Flatten it with WITH or joins.';

/** Nesting depth of a parse tree, counted without recursion (a hostile tree must not overflow the stack). */
function treeDepth(root: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) max = depth;
    if (max > MAX_TREE_DEPTH) return max;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return max;
}

function walk(value: unknown, scope: Scope): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, scope);
    return;
  }
  if (!isObject(value)) return;
  const node = tagged(value);
  if (node) visitNode(node[0], node[1], scope);
  else visitFields(value, scope);
}

/** An untagged struct (Alias, WindowDef, TypeName in a cast, the arms of a UNION): walk its fields. */
function visitFields(obj: Json, scope: Scope): void {
  for (const [key, value] of Object.entries(obj)) {
    if ((key === 'larg' || key === 'rarg') && isObject(value) && !tagged(value)) visitSelect(value, scope);
    else if (key === 'typeName' && isObject(value) && !tagged(value)) checkType(value, scope);
    else walk(value, scope);
  }
}

function visitNode(type: string, inner: Json, scope: Scope): void {
  switch (type) {
    case 'SelectStmt':
      return visitSelect(inner, scope);
    case 'RangeVar':
      return checkRelation(inner, scope);
    case 'FuncCall':
      checkFunction(inner);
      break;
    case 'TypeName':
      return checkType(inner, scope);
    case 'A_Expr':
      checkOperator(inner);
      break;
    case 'SQLValueFunction':
      if (!ALLOWED_VALUE_FUNCTIONS.has(String(inner.op))) {
        reject(
          'Session information (CURRENT_USER, CURRENT_ROLE, SESSION_USER, CURRENT_SCHEMA, CURRENT_CATALOG) is not available.',
        );
      }
      return;
    case 'CommonTableExpr':
      return; // visited with its WITH clause in visitSelect
    case 'ColumnRef':
      return checkColumnRef(inner, scope);
    case 'A_Indirection':
      checkFieldSelection(inner, scope);
      break;
    case 'ParamRef':
      return reject('Parameters such as $1 are not supported; write literal values into the query.');
    case 'ColumnDef':
      return reject(
        'Column definition lists (AS t(a int)) are not supported; call only allowlisted functions in FROM.',
      );
    default:
      if (type.endsWith('Stmt'))
        reject(`Only SELECT is allowed, also inside subqueries; found ${STATEMENT_LABELS[type] ?? type}.`);
      if (!PLAIN_NODES.has(type)) reject(`The SQL construct ${type} is not supported; use plain SELECT syntax.`);
  }
  visitFields(inner, scope);
}

/** A SELECT: no INTO, no locking, CTEs only of SELECTs; its CTE names are in scope for the rest of it. */
function visitSelect(select: Json, outer: Scope): void {
  if (select.intoClause) reject('SELECT … INTO creates a table; remove the INTO clause.');
  if (Array.isArray(select.lockingClause) && select.lockingClause.length > 0) {
    reject(
      'Locking clauses (FOR UPDATE / FOR NO KEY UPDATE / FOR SHARE / FOR KEY SHARE) are not allowed in a read-only query.',
    );
  }
  const { inner, cteScope } = selectScope(select, outer);
  const withClause = select.withClause;
  if (isObject(withClause)) {
    const ctes = (Array.isArray(withClause.ctes) ? withClause.ctes : []).map(
      (c) => tagged(c)?.[1] ?? reject('Malformed WITH clause.'),
    );
    ctes.forEach((cte, i) => {
      const [kind, query] = tagged(cte.ctequery) ?? reject('Malformed WITH clause.');
      if (kind !== 'SelectStmt') {
        reject(
          `WITH ${String(cte.ctename)} AS (…) must contain a SELECT; data-modifying WITH (${STATEMENT_LABELS[kind] ?? kind}) is not allowed.`,
        );
      }
      // A non-recursive CTE sees only the CTEs before it; anything else of that name is a real relation.
      visitSelect(query, cteScope(i));
      const { ctequery: _query, ...rest } = cte;
      visitFields(rest, outer);
    });
  }
  const { withClause: _with, ...rest } = select;
  visitFields(rest, inner);
}

/**
 * `q.column` must name a column q really has: otherwise PostgreSQL reads it as the call
 * `column(q)` (functional notation) and would run a function the allowlist never checked.
 */
function checkColumnRef(ref: Json, scope: Scope): void {
  const fields = Array.isArray(ref.fields) ? ref.fields : [];
  if (fields.length <= 1) return;
  if (fields.length > 2)
    reject(`Qualified names with schemas (${names(fields).join('.')}) are not allowed; write alias.column.`);
  const [qualifier, column] = names(fields) as [string, string];
  if (tagged(fields[1])?.[0] === 'A_Star') return;
  checkColumnOf(qualifier, column, scope);
}

/** `(q).column` is the same as q.column; fields of other expressions are refused. */
function checkFieldSelection(expr: Json, scope: Scope): void {
  const fields = (Array.isArray(expr.indirection) ? expr.indirection : [])
    .map((i) => tagged(i))
    .filter((t) => t?.[0] === 'String');
  if (fields.length === 0) return;
  const arg = tagged(expr.arg);
  const argFields = arg?.[0] === 'ColumnRef' ? names(arg[1].fields) : [];
  if (argFields.length !== 1 || fields.length !== 1)
    reject('Selecting a field of an expression ((expr).field) is not supported; select the column as alias.column.');
  checkColumnOf(argFields[0]!, String(fields[0]![1].sval), scope);
}

function checkColumnOf(qualifier: string, column: string, scope: Scope): void {
  const columns = scope.relations.get(qualifier);
  if (!columns) reject(`"${qualifier}.${column}": there is no table or alias "${qualifier}" in the FROM clause here.`);
  if (!columns!.has(column)) {
    const known = [...columns!].filter((c) => c !== '?column?');
    reject(
      `"${qualifier}.${column}": ${qualifier} has no column "${column}" (function calls written as ${qualifier}.${column} are not allowed). ` +
        `Its columns: ${known.length ? known.join(', ') : 'none with a name'}; give computed columns an alias with AS.`,
    );
  }
}

function checkRelation(rel: Json, scope: Scope): void {
  const name = String(rel.relname);
  const schema = rel.schemaname ?? rel.catalogname;
  if (schema !== undefined) {
    const qualified = [rel.catalogname, rel.schemaname, name].filter((p) => p !== undefined).join('.');
    if (schema === 'pg_catalog' || schema === 'information_schema' || String(schema).startsWith('pg_')) {
      reject(`System catalogs (${qualified}) are not available; query only the views ${viewList()}.`);
    }
    reject(`Schema-qualified names (${qualified}) are not allowed; write the bare view name, e.g. v_products.`);
  }
  if (scope.ctes.has(name) || VIEW_NAMES.has(name)) {
    if (rel.alias !== undefined) walk(rel.alias, scope);
    return;
  }
  if (name.startsWith('pg_') || name === 'information_schema') {
    reject(`System catalogs (${name}) are not available; query only the views ${viewList()}.`);
  }
  const view = VIEW_FOR_TABLE[name];
  reject(
    `Relation "${name}" is not available${view ? `; use the view ${view} instead` : ''}. Only these views can be queried: ${viewList()}.`,
  );
}

function checkFunction(call: Json): void {
  const parts = names(call.funcname);
  const name = parts.at(-1) ?? '';
  if (parts.length > 1) {
    const syntax = parts.length === 2 && parts[0] === 'pg_catalog' && SYNTAX_FUNCTIONS.has(name);
    if (!syntax)
      reject(
        `Schema-qualified function names (${parts.join('.')}) are not allowed; call functions by their bare name.`,
      );
    return;
  }
  const denied = DENIED_FUNCTIONS.find((d) => d.test.test(name));
  if (denied) reject(`Function ${name}() is not allowed: it ${denied.why}.`);
  if (!ALLOWED_FUNCTIONS.has(name)) {
    const groups = Object.entries(FUNCTION_GROUPS)
      .map(([group, fns]) => `${group}: ${fns.join(', ')}`)
      .join('; ');
    reject(
      `Function ${name}() is not on the allowlist. Allowed functions — ${groups}; plus coalesce, nullif, greatest, least, CASE and operators.`,
    );
  }
}

function checkType(typeName: Json, scope: Scope): void {
  const parts = names(typeName.names);
  const name = parts.at(-1) ?? '';
  const qualifiedOk = parts.length === 1 || (parts.length === 2 && parts[0] === 'pg_catalog');
  if (CATALOG_TYPES.test(name)) {
    reject(
      `Casts to ${name} are not allowed: they look up system catalogs. Cast only to plain types such as text, int, numeric, date, timestamptz, jsonb.`,
    );
  }
  if (!qualifiedOk || !ALLOWED_TYPES.has(name) || typeName.setof === true || typeName.pct_type === true) {
    reject(
      `Type ${parts.join('.')} is not allowed; cast only to ${[...ALLOWED_TYPES].join(', ')} (or arrays of them).`,
    );
  }
  if (typeName.typmods !== undefined) walk(typeName.typmods, scope);
}

function checkOperator(expr: Json): void {
  const parts = names(expr.name);
  if (parts.length > 1)
    reject(`Schema-qualified operators (OPERATOR(${parts.join('.')})) are not allowed; write the plain operator.`);
}

function viewList(): string {
  return [...VIEW_NAMES].join(', ');
}
