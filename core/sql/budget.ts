import { QUERY_VIEWS } from './allowlist.ts';
import { emptyScope, implicitName, isObject, names, tagged } from './columns.ts';
import { callPatternProblem, operatorPatternProblem } from './regex.ts';
import { ARRAY_SUBQUERY, refersTo } from './shapes.ts';
import {
  atMost,
  callValue,
  castValue,
  largest,
  literalSize,
  NUMERIC_BYTES,
  numberLiteral,
  operatorValue,
  plus,
  scaled,
  sized,
  SMALL_BYTES,
  zero,
  type Arg,
  type Size,
  type Value,
} from './sizes.ts';

/*
 * What one guarded query may build, decided from its parse tree before it runs. PostgreSQL has no
 * memory limit per connection and the statement timeout bounds time, not memory, so the guard adds
 * up the values a row of the query computes (sizes.ts), as if PostgreSQL inlined every CTE and
 * subquery where it is used, together with the expressions, tables and sort/hash steps it plans.
 */

/** Bytes of values one row of a query may build, besides copies of stored values. */
const MAX_BUILT_BYTES = 2 * 1024 * 1024;
/** Copies of the largest stored text or jsonb value one row of a query may build. */
const MAX_STORED_COPIES = 256;
/** Expression nodes a query may expand to once its CTEs and subqueries are inlined (planning memory). */
const MAX_EXPRESSIONS = 20_000;
/** Tables a query may read once views, CTEs and subqueries are expanded; a view counts as VIEW_TABLES. */
const MAX_TABLES = 64;
/** Sort, hash, grouping and materialising steps a query may plan; each may use work_mem (runner.ts). */
const MAX_STEPS = 64;
/** Tables behind one view, counted generously (v_orders joins three and counts items in a fourth). */
const VIEW_TABLES = 4;
/** Expression nodes one view adds when PostgreSQL expands it. */
const VIEW_EXPRESSIONS = 100;

type Json = { [key: string]: unknown };
/** What evaluating something costs per row: values built, expression nodes, tables read, steps planned. */
type Totals = { built: Size; nodes: number; tables: number; steps: number };
/** An expression's cost and the bound of its value. */
type Cost = Totals & { value: Value };
/** A relation: its columns (each with the cost of using it, as if inlined) and what producing its rows costs besides. */
type Rel = { columns: [string, Cost][]; own: Totals };
/**
 * The FROM items of one SELECT, its output columns once known (ORDER BY and GROUP BY may name
 * them), and how many column references resolved to it so far.
 */
type Level = { items: [string, Rel][]; outputs?: [string, Cost][]; uses: number };
type Scope = { ctes: ReadonlyMap<string, () => Rel>; levels: Level[] };

class Refusal extends Error {}
const refuse = (reason: string): never => {
  throw new Refusal(reason);
};

const none: Totals = { built: zero, nodes: 0, tables: 0, steps: 0 };
const smallValue: Value = { size: sized(SMALL_BYTES), kind: 'other' };
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function add(...parts: Totals[]): Totals {
  return {
    built: plus(...parts.map((p) => p.built)),
    nodes: parts.reduce((n, p) => n + p.nodes, 0),
    tables: parts.reduce((n, p) => n + p.tables, 0),
    steps: parts.reduce((n, p) => n + p.steps, 0),
  };
}

/** One node computing `value` from `parts`: everything the parts cost, plus the value itself. */
function node(parts: Totals[], value: Value, steps = 0): Cost {
  const sum = add(...parts);
  return { ...sum, built: plus(sum.built, value.size), nodes: sum.nodes + 1, steps: sum.steps + steps, value };
}

/** Reading a value already in a row (a view column, a function result, the recursive CTE's last row). */
const read = (value: Value): Cost => ({ value, built: value.size, nodes: 1, tables: 0, steps: 0 });

/** Whichever of several costs PostgreSQL picks. */
function largestCost(costs: Cost[]): Cost {
  const kinds = new Set(costs.map((c) => c.value.kind));
  return {
    value: { size: largest(...costs.map((c) => c.value.size)), kind: kinds.size === 1 ? [...kinds][0]! : 'other' },
    built: largest(...costs.map((c) => c.built)),
    nodes: Math.max(0, ...costs.map((c) => c.nodes)),
    tables: Math.max(0, ...costs.map((c) => c.tables)),
    steps: Math.max(0, ...costs.map((c) => c.steps)),
  };
}

/**
 * Checks what one row of the query may build (at most MAX_BUILT_BYTES plus MAX_STORED_COPIES
 * stored values), and that it plans at most MAX_EXPRESSIONS expression nodes, MAX_TABLES tables
 * and MAX_STEPS sort, hash or materialising steps. Returns a reason for the model, or undefined
 * when the query fits. `select` is a SelectStmt the guard has already accepted.
 */
export function budgetProblem(select: Json): string | undefined {
  try {
    const rel = selectRel(select, { ctes: new Map(), levels: [] });
    return overBudget(add(rel.own, ...rel.columns.map(([, c]) => c)));
  } catch (err) {
    if (err instanceof Refusal) return err.message;
    throw err;
  }
}

function overBudget(total: Totals): string | undefined {
  const { built, nodes, tables, steps } = total;
  if (nodes > MAX_EXPRESSIONS) {
    return (
      `This query expands to about ${count(nodes)} expressions once its CTEs and subqueries are inlined (the limit is ` +
      `${count(MAX_EXPRESSIONS)}); a computed column used twice in the next CTE doubles at every level. Use each computed column once per level or use fewer levels.`
    );
  }
  if (built.fixed > MAX_BUILT_BYTES) {
    return (
      `One row of this query could build about ${mb(built.fixed)} of values (the limit is ${mb(MAX_BUILT_BYTES)}): long lpad/rpad, ` +
      'concatenations that double through CTEs, replace() or regexp_replace() with long replacements, casts of text to numeric or jsonb, ' +
      'or many computed columns. Build shorter values; answers cut values at 2,000 characters anyway.'
    );
  }
  if (built.stored > MAX_STORED_COPIES) {
    return (
      `One row of this query could copy stored values ${copies(built.stored)} (the limit is ${MAX_STORED_COPIES}): concatenations ` +
      'or replacements that multiply stored text, or a computed column reused through several CTEs. Compute each value once and keep it short.'
    );
  }
  if (tables > MAX_TABLES) {
    return `This query reads about ${tables} tables once views, CTEs and subqueries are expanded (the limit is ${MAX_TABLES}; each view counts as ${VIEW_TABLES}). Join fewer views.`;
  }
  if (steps > MAX_STEPS) {
    return `This query plans about ${steps} sort, hash, grouping or join steps (the limit is ${MAX_STEPS}), each of which may hold working memory. Simplify it.`;
  }
  return undefined;
}

const count = (n: number): string => (n === Infinity ? 'unboundedly many' : Math.ceil(n).toLocaleString('en-US'));
const mb = (bytes: number): string => (bytes === Infinity ? 'unbounded amounts' : `${count(bytes / (1024 * 1024))} MB`);
const copies = (n: number): string => (n === Infinity ? 'without limit' : `${count(n)} times`);

/** A SELECT as a relation: its output columns and what producing its rows costs. */
function selectRel(select: Json, outer: Scope): Rel {
  const scope: Scope = { ctes: withCtes(select.withClause, outer), levels: outer.levels };
  if (select.op !== undefined && select.op !== 'SETOP_NONE') return setOperation(select, scope);
  if (Array.isArray(select.valuesLists)) return valuesRel(select.valuesLists, scope);
  const level: Level = { items: [], uses: 0 };
  const inner: Scope = { ctes: scope.ctes, levels: [level, ...scope.levels] };
  const from = list(select.fromClause).map((item) => fromItem(item, inner, level));
  const columns = targets(list(select.targetList), inner, level);
  level.outputs = columns;
  const groups = list(select.groupClause);
  const clauses = [
    select.whereClause,
    select.havingClause,
    select.limitCount,
    select.limitOffset,
    ...groups,
    ...list(select.sortClause),
    ...list(select.distinctClause),
    ...list(select.windowClause),
  ].map((e) => expr(e, inner));
  // One sort or hash per grouping (ROLLUP and CUBE group several ways), DISTINCT, ORDER BY and window.
  const groupings = groups.reduce(
    (k: number, g) => k + (tagged(g)?.[0] === 'GroupingSet' ? list(tagged(g)![1].content).length : 0),
    groups.length ? 1 : 0,
  );
  const steps =
    groupings +
    (list(select.distinctClause).length ? 1 : 0) +
    (list(select.sortClause).length ? 1 : 0) +
    list(select.windowClause).length;
  return { columns, own: add(...from, ...clauses, { ...none, steps }) };
}

/** UNION, INTERSECT, EXCEPT: column i is either arm's column i; both arms run. */
function setOperation(select: Json, scope: Scope): Rel {
  const left = selectRel(isObject(select.larg) ? select.larg : {}, scope);
  const right = selectRel(isObject(select.rarg) ? select.rarg : {}, scope);
  const columns = left.columns.map(([name, cost], i): [string, Cost] => {
    const other = right.columns[i]?.[1];
    if (!other) return [name, cost];
    const both = largestCost([cost, other]);
    return [name, { ...both, ...add(cost, other) }];
  });
  const level: Level = { items: [], outputs: columns, uses: 0 };
  const inner: Scope = { ctes: scope.ctes, levels: [level, ...scope.levels] };
  const clauses = [select.limitCount, select.limitOffset, ...list(select.sortClause)].map((e) => expr(e, inner));
  const steps = (select.all === true ? 0 : 1) + (list(select.sortClause).length ? 1 : 0);
  return { columns, own: add(left.own, right.own, ...clauses, { ...none, steps }) };
}

function valuesRel(rows: unknown[], scope: Scope): Rel {
  const cells = rows.map((row) => list(tagged(row)?.[1].items).map((item) => expr(item, scope)));
  const width = Math.max(0, ...cells.map((r) => r.length));
  const columns = Array.from({ length: width }, (_, i): [string, Cost] => {
    const column = cells.map((r) => r[i]).filter((c): c is Cost => c !== undefined);
    return [`column${i + 1}`, { ...largestCost(column), ...add(...column) }];
  });
  return { columns, own: none };
}

/** The CTEs visible in a SELECT with `withClause`: each analysed once, when first used. */
function withCtes(withClause: unknown, outer: Scope): ReadonlyMap<string, () => Rel> {
  if (!isObject(withClause)) return outer.ctes;
  const ctes = new Map(outer.ctes);
  const recursive = withClause.recursive === true;
  for (const item of list(withClause.ctes)) {
    const cte = tagged(item)?.[1] ?? {};
    const name = String(cte.ctename);
    // Without RECURSIVE a CTE sees only the ones before it; with it, all of them (itself included).
    const visible = recursive ? ctes : new Map(ctes);
    let rel: Rel | undefined;
    let busy = false;
    ctes.set(name, (): Rel => {
      if (rel) return rel;
      if (busy)
        return refuse(`WITH ${name} refers to itself; only a recursive WITH (UNION ALL of a start and a step) may.`);
      busy = true;
      rel = cteRel(cte, name, { ctes: visible, levels: outer.levels }, recursive ? ctes : undefined);
      return rel;
    });
  }
  return ctes;
}

function cteRel(cte: Json, name: string, scope: Scope, shared: Map<string, () => Rel> | undefined): Rel {
  const query = tagged(cte.ctequery)?.[1] ?? {};
  const listed = names(cte.aliascolnames);
  const recursive = shared && query.op === 'SETOP_UNION' && refersTo(query.rarg, name);
  const rel = recursive ? recursion(query, name, listed, scope, shared) : selectRel(query, scope);
  return listed.length ? renamed(rel, listed) : rel;
}

/**
 * A recursive CTE runs its step until no rows come: its columns must not grow from step to step.
 * Numbers may (PostgreSQL caps a numeric at NUMERIC_BYTES); text or arrays that grow are refused.
 */
function recursion(query: Json, name: string, listed: string[], scope: Scope, shared: Map<string, () => Rel>): Rel {
  const start = selectRel(isObject(query.larg) ? query.larg : {}, scope);
  const columnNames = listed.length ? listed : start.columns.map(([n]) => n);
  let current = start.columns.map(([, c]) => c.value);
  for (let round = 0; ; round++) {
    const previous = current;
    const self: Rel = { columns: columnNames.map((n, i) => [n, read(previous[i] ?? smallValue)]), own: none };
    shared.set(name, () => self);
    const step = selectRel(isObject(query.rarg) ? query.rarg : {}, scope);
    const grown = step.columns.map(([, c], i) => !atMost(c.value.size, previous[i]?.size ?? zero));
    if (!grown.includes(true)) {
      const columns = columnNames.map((n, i): [string, Cost] => [n, read(previous[i] ?? smallValue)]);
      const work = add(start.own, step.own, ...start.columns.map(([, c]) => c), ...step.columns.map(([, c]) => c), {
        ...none,
        steps: 1,
      });
      const rel: Rel = { columns, own: work };
      shared.set(name, () => rel);
      return rel;
    }
    if (round > 0) {
      const column = columnNames[grown.indexOf(true)] ?? '?';
      refuse(
        `Column ${column} of the recursive WITH ${name} grows with every step (as with s || 'x' or arrays built up step by step), ` +
          'so its size has no limit; let the recursion count or compare, and build text outside it.',
      );
    }
    current = previous.map((value, i) => {
      const next = step.columns[i]?.[1].value;
      if (!grown[i] || !next) return value;
      const size = largest(value.size, next.size);
      return {
        size: { stored: size.stored, fixed: Math.max(size.fixed, NUMERIC_BYTES) },
        kind: value.kind === next.kind ? value.kind : 'other',
      };
    });
  }
}

function renamed(rel: Rel, columnNames: string[]): Rel {
  return { ...rel, columns: rel.columns.map(([n, c], i) => [columnNames[i] ?? n, c]) };
}

/** Adds a FROM item to `level` and returns what producing its rows costs. */
function fromItem(item: unknown, scope: Scope, level: Level): Totals {
  const [type, n] = tagged(item) ?? ['', {}];
  const alias = isObject(n.alias) ? n.alias : undefined;
  const columnNames = names(alias?.colnames);
  const push = (name: string, rel: Rel) => {
    level.items.push([name, columnNames.length ? renamed(rel, columnNames) : rel]);
  };
  switch (type) {
    case 'RangeVar': {
      const name = String(n.relname);
      const cte = scope.ctes.get(name);
      const rel = cte ? cte() : viewRel(name);
      push(String(alias?.aliasname ?? name), rel);
      return cte ? add(rel.own, ...rel.columns.map(([, c]) => c), { ...none, steps: 1 }) : rel.own;
    }
    case 'RangeSubselect': {
      // Without LATERAL a subquery in FROM does not see the items before it.
      const sees = n.lateral === true ? scope : { ctes: scope.ctes, levels: scope.levels.slice(1) };
      const rel = selectRel(tagged(n.subquery)?.[1] ?? {}, sees);
      push(String(alias?.aliasname ?? ''), rel);
      return add(rel.own, ...rel.columns.map(([, c]) => c), { ...none, steps: 1 });
    }
    case 'RangeFunction':
      return functionScan(n, scope, push, alias);
    case 'JoinExpr': {
      const before = level.items.length;
      const sides = [fromItem(n.larg, scope, level), fromItem(n.rarg, scope, level)];
      const quals = expr(n.quals, scope);
      if (alias?.aliasname !== undefined) {
        push(String(alias.aliasname), { columns: level.items.slice(before).flatMap(([, r]) => r.columns), own: none });
      }
      return add(...sides, quals, { ...none, steps: 2 });
    }
    default:
      return none;
  }
}

/** Set-returning functions with named output columns (others give one column). */
const RECORD_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  jsonb_each: ['key', 'value'],
  jsonb_each_text: ['key', 'value'],
  jsonb_array_elements: ['value'],
  jsonb_array_elements_text: ['value'],
};

function functionScan(n: Json, scope: Scope, push: (name: string, rel: Rel) => void, alias: Json | undefined): Totals {
  const calls = list(n.functions).map((pair) => tagged(list(tagged(pair)?.[1].items)[0]));
  const costs: Cost[] = [];
  const columns: [string, Cost][] = [];
  for (const call of calls) {
    if (!call) continue;
    const cost = expr({ [call[0]]: call[1] }, scope);
    costs.push(cost);
    const fn = names(call[1].funcname).at(-1) ?? '';
    const named = RECORD_COLUMNS[fn] ?? [
      calls.length === 1 && alias?.aliasname !== undefined ? String(alias.aliasname) : fn,
    ];
    for (const column of named) columns.push([column, read(cost.value)]);
  }
  if (n.ordinality === true) columns.push(['ordinality', read({ size: sized(SMALL_BYTES), kind: 'integer' })]);
  push(String(alias?.aliasname ?? names(calls[0]?.[1].funcname).at(-1) ?? ''), { columns, own: none });
  return add(...costs, { ...none, tables: 1, steps: 1 });
}

const FIXED_COLUMN = /^(id|.*_id|.*_at|width|height|attempts|item_count)$/;
const INTEGER_COLUMN = /^(width|height|attempts|item_count)$/;

/** A tenant view: ids, times and counts are small; text and jsonb columns are stored values (S). */
function viewRel(view: string): Rel {
  const declared: readonly string[] = (QUERY_VIEWS as Record<string, readonly string[]>)[view] ?? [];
  const columns = declared.map((spec): [string, Cost] => {
    const name = spec.split(' ')[0]!;
    if (FIXED_COLUMN.test(name))
      return [name, read({ size: sized(SMALL_BYTES), kind: INTEGER_COLUMN.test(name) ? 'integer' : 'other' })];
    return [name, read({ size: sized(0, 1), kind: spec.includes('(jsonb)') ? 'json' : 'other' })];
  });
  return { columns, own: { built: zero, nodes: VIEW_EXPRESSIONS, tables: VIEW_TABLES, steps: 1 } };
}

/** The target list: `*` and `t.*` expand to columns, anything else is computed. */
function targets(items: unknown[], scope: Scope, level: Level): [string, Cost][] {
  return items.flatMap((item): [string, Cost][] => {
    const target = tagged(item)?.[1] ?? {};
    const ref = tagged(target.val);
    const fields = ref?.[0] === 'ColumnRef' ? list(ref[1].fields) : [];
    if (fields.length && tagged(fields.at(-1))?.[0] === 'A_Star') {
      const qualifier = names(fields.slice(0, -1)).at(-1);
      return level.items
        .filter(([name]) => qualifier === undefined || name === qualifier)
        .flatMap(([, rel]) => rel.columns);
    }
    const name = target.name !== undefined ? String(target.name) : implicitName(target.val, emptyScope);
    return [[name, expr(target.val, scope)]];
  });
}

/** A column reference: the column's cost where it is defined (inlined), or a whole row. */
function columnRef(ref: Json, scope: Scope): Cost {
  const fields = list(ref.fields);
  const parts = names(fields);
  if (tagged(fields.at(-1))?.[0] === 'A_Star') {
    const qualifier = parts.at(-2);
    for (const level of scope.levels) {
      const rels = level.items.filter(([name]) => qualifier === undefined || name === qualifier).map(([, r]) => r);
      if (!rels.length) continue;
      level.uses++;
      return wholeRow(rels);
    }
    return anyColumn(scope);
  }
  const column = parts.at(-1) ?? '';
  const qualifier = parts.length > 1 ? parts.at(-2) : undefined;
  for (const level of scope.levels) {
    const rels = level.items.filter(([name]) => qualifier === undefined || name === qualifier).map(([, r]) => r);
    const found = rels.flatMap((r) => r.columns.filter(([c]) => c === column).map(([, c]) => c));
    const row = level.items.filter(([name]) => qualifier === undefined && name === column).map(([, r]) => r);
    const output = qualifier === undefined ? (level.outputs ?? []).filter(([c]) => c === column).map(([, c]) => c) : [];
    if (!found.length && !(qualifier !== undefined && rels.length) && !row.length && !output.length) continue;
    level.uses++;
    if (found.length) return largestCost(found);
    if (qualifier !== undefined) return wholeRow(rels);
    return row.length ? wholeRow(row) : largestCost(output);
  }
  return anyColumn(scope);
}

/** A whole row as one value (`t`, `t.*` in an expression): every column, written out as a record. */
function wholeRow(rels: Rel[]): Cost {
  const columns = rels.flatMap((r) => r.columns.map(([, c]) => c));
  const size = plus(scaled(plus(...columns.map((c) => c.value.size)), 2), sized(8 * columns.length + 16));
  return node(columns, { size, kind: 'other' });
}

/** A name that resolves nowhere (PostgreSQL will say so); bounded by the largest column in sight. */
function anyColumn(scope: Scope): Cost {
  const all = scope.levels
    .flatMap((l) => [...l.items.flatMap(([, r]) => r.columns), ...(l.outputs ?? [])])
    .map(([, c]) => c);
  return all.length ? largestCost(all) : read(smallValue);
}

/** A literal's text (for lpad lengths, replace arguments, casts), or undefined. */
function literalOf(value: unknown): string | undefined {
  const c = tagged(value);
  if (c?.[0] !== 'A_Const') return undefined;
  const n = c[1];
  if (isObject(n.sval)) return String(n.sval.sval ?? '');
  if (isObject(n.ival)) return String(n.ival.ival ?? 0);
  if (isObject(n.fval)) return String(n.fval.fval ?? '0');
  return undefined;
}

function constValue(n: Json): Value {
  if (isObject(n.sval)) return { size: literalSize(String(n.sval.sval ?? '')), kind: 'other' };
  if (isObject(n.ival)) return numberLiteral(String(n.ival.ival ?? 0));
  if (isObject(n.fval)) return numberLiteral(String(n.fval.fval ?? '0'));
  if (isObject(n.bsval)) return { size: sized(String(n.bsval.bsval ?? '').length), kind: 'other' };
  return { size: sized(n.isnull === true ? 0 : 1), kind: 'other' };
}

const PREDICATE_KINDS: ReadonlySet<string> = new Set([
  'AEXPR_OP_ANY',
  'AEXPR_OP_ALL',
  'AEXPR_DISTINCT',
  'AEXPR_NOT_DISTINCT',
  'AEXPR_IN',
  'AEXPR_LIKE',
  'AEXPR_ILIKE',
  'AEXPR_SIMILAR',
  'AEXPR_BETWEEN',
  'AEXPR_NOT_BETWEEN',
  'AEXPR_BETWEEN_SYM',
  'AEXPR_NOT_BETWEEN_SYM',
]);

/** An expression's cost. Anything not listed costs what its parts cost plus their sum as its value. */
function expr(value: unknown, scope: Scope): Cost {
  if (Array.isArray(value)) {
    const parts = value.map((v) => expr(v, scope));
    return { ...add(...parts), value: { size: largest(...parts.map((p) => p.value.size)), kind: 'other' } };
  }
  const t = tagged(value);
  if (!t) {
    // An untagged struct, such as the window of `sum(x) OVER (PARTITION BY …)`: what its fields cost.
    const parts = isObject(value) ? Object.values(value).map((v) => expr(v, scope)) : [];
    return { ...add(...parts), value: smallValue };
  }
  const [type, n] = t;
  const sub = (key: string): Cost[] => (n[key] === undefined ? [] : [expr(n[key], scope)]);
  switch (type) {
    case 'A_Const':
      return node([], constValue(n));
    case 'ColumnRef':
      return columnRef(n, scope);
    case 'FuncCall':
      return call(n, scope);
    case 'TypeCast': {
      const arg = expr(n.arg, scope);
      const typeName = isObject(n.typeName) ? n.typeName : {};
      const target = names(typeName.names).at(-1) ?? '';
      const typmods = list(typeName.typmods).map((m) => {
        const l = literalOf(m);
        return l === undefined ? undefined : Number(l);
      });
      const cast = castValue(target, typmods, list(typeName.arrayBounds).length > 0, {
        value: arg.value,
        literal: literalOf(n.arg),
      });
      return node([arg], cast);
    }
    case 'A_Expr': {
      const left = sub('lexpr')[0];
      const right = expr(n.rexpr, scope);
      const parts = left ? [left, right] : [right];
      const kind = String(n.kind);
      const op = names(n.name).at(-1) ?? '';
      // SIMILAR TO compiles the pattern of its similar_to_escape() call, checked there.
      const pattern =
        kind === 'AEXPR_OP' || kind === 'AEXPR_OP_ANY' || kind === 'AEXPR_OP_ALL'
          ? operatorPatternProblem(op, n.rexpr)
          : undefined;
      if (pattern) refuse(pattern);
      if (kind === 'AEXPR_NULLIF') return node(parts, left?.value ?? right.value);
      if (PREDICATE_KINDS.has(kind)) return node(parts, smallValue);
      return node(parts, operatorValue(op, left?.value, right.value));
    }
    case 'BoolExpr':
    case 'NullTest':
    case 'BooleanTest':
    case 'SQLValueFunction':
      return node([...sub('args'), ...sub('arg')], smallValue);
    case 'GroupingFunc':
      return node(sub('args'), { size: sized(SMALL_BYTES), kind: 'integer' });
    case 'CaseExpr': {
      const whens = list(n.args).map((w) => tagged(w)?.[1] ?? {});
      const conditions = whens.map((w) => expr(w.expr, scope));
      const results = [...whens.map((w) => expr(w.result, scope)), ...sub('defresult')];
      return node(
        [...sub('arg'), ...conditions, ...results],
        largestCost(results.length ? results : [read(smallValue)]).value,
      );
    }
    case 'CoalesceExpr':
    case 'MinMaxExpr': {
      const args = list(n.args).map((a) => expr(a, scope));
      return node(args, largestCost(args.length ? args : [read(smallValue)]).value);
    }
    case 'SubLink':
      return subLink(n, scope);
    case 'A_ArrayExpr':
    case 'RowExpr': {
      const items = list(n.elements ?? n.args).map((a) => expr(a, scope));
      const size = plus(scaled(plus(...items.map((i) => i.value.size)), 2), sized(8 * items.length + 32));
      return node(items, { size, kind: 'other' });
    }
    case 'A_Indirection': {
      const arg = expr(n.arg, scope);
      return node([arg, expr(n.indirection, scope)], arg.value);
    }
    case 'A_Indices':
      return node([...sub('lidx'), ...sub('uidx')], smallValue);
    case 'CollateClause':
    case 'NamedArgExpr':
    case 'ResTarget': {
      const arg = expr(n.arg ?? n.val, scope);
      return { ...arg, nodes: arg.nodes + 1 };
    }
    case 'SortBy':
      return expr(n.node, scope);
    case 'List':
      return expr(n.items, scope);
    case 'GroupingSet':
      return expr(n.content, scope);
    case 'WindowDef':
      return node(
        [...sub('partitionClause'), ...sub('orderClause'), ...sub('startOffset'), ...sub('endOffset')],
        smallValue,
      );
    case 'String':
    case 'A_Star':
      return { ...none, value: smallValue };
    default: {
      const parts = Object.values(n).map((v) => expr(v, scope));
      return node(parts, { size: plus(...parts.map((p) => p.value.size)), kind: 'other' });
    }
  }
}

function call(n: Json, scope: Scope): Cost {
  const name = names(n.funcname).at(-1) ?? '';
  // concat_ws(sep, VARIADIC array) repeats the separator per element, which the size rules do not see.
  if (n.func_variadic === true)
    refuse(`VARIADIC arguments are not supported; pass the values to ${name}() one by one.`);
  const argNodes = list(n.args).map((a) => (tagged(a)?.[0] === 'NamedArgExpr' ? tagged(a)![1].arg : a));
  const args = argNodes.map((a) => expr(a, scope));
  const order = list(n.agg_order).map((s) => expr(s, scope));
  const extras = [
    ...(n.agg_filter === undefined ? [] : [expr(n.agg_filter, scope)]),
    ...(n.over === undefined ? [] : [expr(n.over, scope)]),
  ];
  // percentile_disc and mode return one of the values they order (WITHIN GROUP (ORDER BY x)).
  const ruleArgs: Arg[] = [
    ...args.map((a, i) => ({ value: a.value, literal: literalOf(argNodes[i]) })),
    ...(n.agg_within_group === true ? order.map((o) => ({ value: o.value })) : []),
  ];
  const numbered = args[1]?.value.kind === 'integer' || args[1]?.value.kind === 'number';
  const pattern = callPatternProblem(name, argNodes, numbered);
  if (pattern) refuse(pattern);
  const value = callValue(name, ruleArgs);
  if (typeof value === 'string') return refuse(value);
  const steps = (n.over === undefined ? 0 : 1) + (order.length || n.agg_distinct === true ? 1 : 0);
  return node([...args, ...order, ...extras], value, steps);
}

/**
 * A subquery in an expression runs as a plan of its own; a scalar one gives its first column.
 * IN (shapes.ts lets it stand only as a WHERE condition joined with AND) must be one PostgreSQL
 * turns into a join, with a column of this query on its left: otherwise it may hash the whole
 * subquery result in memory.
 */
function subLink(n: Json, scope: Scope): Cost {
  if (n.subLinkType === 'ARRAY_SUBLINK') refuse(ARRAY_SUBQUERY);
  const pattern = operatorPatternProblem(names(n.operName).at(-1) ?? '', n.subselect); // x ~ any (select pattern …)
  if (pattern) refuse(pattern);
  const rel = selectRel(tagged(n.subselect)?.[1] ?? {}, scope);
  const [here] = scope.levels;
  const usesBefore = here?.uses ?? 0;
  const test = n.testexpr === undefined ? [] : [expr(n.testexpr, scope)];
  // x IN (SELECT …) becomes a join only when x is a column of this query; `0 IN (SELECT …)` is hashed.
  if (n.subLinkType === 'ANY_SUBLINK' && (here?.uses ?? 0) === usesBefore) refuse(IN_WITHOUT_COLUMN);
  const value = n.subLinkType === 'EXPR_SUBLINK' ? (rel.columns[0]?.[1].value ?? smallValue) : smallValue;
  return node([rel.own, ...rel.columns.map(([, c]) => c), ...test], value, 1);
}

const IN_WITHOUT_COLUMN =
  'IN (SELECT …) needs a column of this query on its left, as in id IN (SELECT …); otherwise PostgreSQL may hold ' +
  'the whole subquery result in memory. To test a constant, write EXISTS (SELECT 1 FROM … WHERE … = constant).';
