import { QUERY_VIEWS } from './allowlist.ts';

/*
 * Which columns a qualified reference `q.name` may name. PostgreSQL reads `q.name` as a call
 * `name(q)` when q has no column `name` ("functional notation"), so `select p.row_to_json from
 * v_products p` would call a function the allowlist never saw. The guard therefore resolves every
 * qualifier to the relation it names and accepts only columns that relation really has.
 */

type Json = { [key: string]: unknown };

/** Output column names of a relation in a query. */
type Columns = ReadonlySet<string>;

/** What a point in the query can see: CTEs by name, and FROM items (of this and enclosing SELECTs) by alias. */
export type NameScope = { ctes: ReadonlyMap<string, Columns>; relations: ReadonlyMap<string, Columns> };

export const emptyScope: NameScope = { ctes: new Map(), relations: new Map() };

const viewColumns: ReadonlyMap<string, Columns> = new Map(
  Object.entries(QUERY_VIEWS).map(([view, cols]) => [view, new Set(cols.map((c) => c.split(' ')[0]!))]),
);

/** Set-returning functions with named output columns (others return one column named after the function or alias). */
const recordFunctions: Readonly<Record<string, readonly string[]>> = {
  jsonb_each: ['key', 'value'],
  jsonb_each_text: ['key', 'value'],
  jsonb_array_elements: ['value'],
  jsonb_array_elements_text: ['value'],
};

/** `{ SelectStmt: {...} }` → ['SelectStmt', {...}]. */
export function tagged(value: unknown): [string, Json] | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const [key] = keys as [string];
  const inner = value[key];
  return /^[A-Z]/.test(key) && isObject(inner) ? [key, inner] : undefined;
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** String values of a list of `String` nodes (names); other nodes give ''. */
export function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((n) => {
    const s = tagged(n);
    return s && s[0] === 'String' ? String(s[1].sval) : '';
  });
}

/**
 * The scope inside `select`: its CTEs (columns from their column lists or their SELECT) added to
 * `outer`, and its FROM items added to the enclosing ones (inner aliases shadow outer ones).
 * `cteScope(i)` is what the i-th CTE's own query sees (earlier CTEs, all of them when recursive).
 */
export function selectScope(select: Json, outer: NameScope): { inner: NameScope; cteScope(i: number): NameScope } {
  const ctes = new Map(outer.ctes);
  const withClause = select.withClause;
  const perCte: NameScope[] = [];
  if (isObject(withClause)) {
    const list = (Array.isArray(withClause.ctes) ? withClause.ctes : []).map((c) => tagged(c)?.[1] ?? {});
    const recursive = withClause.recursive === true;
    if (recursive) for (const cte of list) ctes.set(String(cte.ctename), new Set(names(cte.aliascolnames)));
    for (const cte of list) {
      const seen: NameScope = { ctes: new Map(ctes), relations: outer.relations };
      perCte.push(seen);
      const query = tagged(cte.ctequery);
      const listed = names(cte.aliascolnames);
      const cols = listed.length
        ? new Set(listed)
        : query?.[0] === 'SelectStmt'
          ? outputColumns(query[1], seen)
          : new Set<string>();
      ctes.set(String(cte.ctename), cols);
    }
  }
  const withCtes: NameScope = { ctes, relations: outer.relations };
  const relations = new Map(outer.relations);
  for (const [alias, cols] of fromRelations(select.fromClause, withCtes)) relations.set(alias, cols);
  return { inner: { ctes, relations }, cteScope: (i) => perCte[i] ?? withCtes };
}

/** FROM items by the name they are referred to with. */
function fromRelations(items: unknown, scope: NameScope): Map<string, Columns> {
  const found = new Map<string, Columns>();
  const add = (item: unknown): Columns => {
    const node = tagged(item);
    if (!node) return new Set();
    const [type, n] = node;
    const alias = isObject(n.alias) ? n.alias : undefined;
    const listed = names(alias?.colnames);
    let cols: Columns = new Set();
    if (type === 'RangeVar') {
      const rel = String(n.relname);
      cols = listed.length ? new Set(listed) : (scope.ctes.get(rel) ?? viewColumns.get(rel) ?? new Set());
      found.set(String(alias?.aliasname ?? rel), cols);
    } else if (type === 'RangeSubselect') {
      const sub = tagged(n.subquery);
      cols = listed.length
        ? new Set(listed)
        : sub?.[0] === 'SelectStmt'
          ? outputColumns(sub[1], { ctes: scope.ctes, relations: new Map([...scope.relations, ...found]) })
          : new Set();
      if (alias?.aliasname !== undefined) found.set(String(alias.aliasname), cols);
    } else if (type === 'RangeFunction') {
      cols = new Set(listed.length ? listed : functionColumns(n, alias?.aliasname));
      if (n.ordinality === true && !listed.length) (cols as Set<string>).add('ordinality');
      if (alias?.aliasname !== undefined) found.set(String(alias.aliasname), cols);
    } else if (type === 'JoinExpr') {
      const both = new Set([...add(n.larg), ...add(n.rarg)]);
      cols = listed.length ? new Set(listed) : both;
      if (alias?.aliasname !== undefined) found.set(String(alias.aliasname), cols);
    }
    return cols;
  };
  if (Array.isArray(items)) for (const item of items) add(item);
  return found;
}

/** Columns of `FROM f(…) [alias]` without a column list. */
function functionColumns(rangeFunction: Json, aliasName: unknown): string[] {
  const calls = Array.isArray(rangeFunction.functions) ? rangeFunction.functions : [];
  return calls.flatMap((pair) => {
    const items = tagged(pair)?.[1].items;
    const call = Array.isArray(items) ? tagged(items[0]) : undefined;
    if (!call || call[0] !== 'FuncCall') return [];
    const fn = names(call[1].funcname).at(-1) ?? '';
    return recordFunctions[fn] ?? [calls.length === 1 && aliasName !== undefined ? String(aliasName) : fn];
  });
}

/**
 * The names of a SELECT's output columns as PostgreSQL derives them: aliases, column names,
 * function names, `*` expanded over its FROM items; `?column?` where PostgreSQL has no name.
 */
function outputColumns(select: Json, outer: NameScope): Columns {
  const larg = select.larg;
  if (isObject(larg)) return outputColumns(larg, outer);
  if (Array.isArray(select.valuesLists)) {
    const items = tagged(select.valuesLists[0])?.[1].items;
    const width = Array.isArray(items) ? items.length : 0;
    return new Set(Array.from({ length: width }, (_, i) => `column${i + 1}`));
  }
  const { inner } = selectScope(select, outer);
  const own = fromRelations(select.fromClause, { ctes: inner.ctes, relations: outer.relations });
  const out = new Set<string>();
  for (const target of Array.isArray(select.targetList) ? select.targetList : []) {
    const t = tagged(target);
    if (!t) continue;
    if (t[1].name !== undefined) {
      out.add(String(t[1].name));
      continue;
    }
    const ref = tagged(t[1].val);
    if (ref?.[0] === 'ColumnRef' && Array.isArray(ref[1].fields) && tagged(ref[1].fields.at(-1))?.[0] === 'A_Star') {
      const qualifier = names(ref[1].fields.slice(0, -1)).at(-1);
      const sources = qualifier ? [inner.relations.get(qualifier) ?? new Set<string>()] : [...own.values()];
      for (const cols of sources) for (const c of cols) out.add(c);
    } else {
      out.add(implicitName(t[1].val, inner));
    }
  }
  return out;
}

/**
 * PostgreSQL's name for an unaliased output expression and how sure it is (FigureColname: 2 a
 * real name, 1 a keyword such as `case`, 0 none → `?column?`). Unsure cases give no name, so a
 * reference to them is refused rather than possibly read as a function call.
 */
export function implicitName(value: unknown, scope: NameScope): string {
  return figure(value, scope)[0];
}

function figure(value: unknown, scope: NameScope): [string, number] {
  const node = tagged(value);
  const none: [string, number] = ['?column?', 0];
  if (!node) return none;
  const [type, n] = node;
  switch (type) {
    case 'ColumnRef': {
      const last = names(n.fields).at(-1);
      return last ? [last, 2] : none;
    }
    case 'FuncCall':
      return [names(n.funcname).at(-1) || '?column?', 2];
    case 'TypeCast': {
      const inner = figure(n.arg, scope);
      const typeName = names(isObject(n.typeName) ? n.typeName.names : []).at(-1);
      return inner[1] > 1 || !typeName ? inner : [typeName, 1];
    }
    case 'A_Indirection': {
      const last = Array.isArray(n.indirection) ? tagged(n.indirection.at(-1)) : undefined;
      return last?.[0] === 'String' ? [String(last[1].sval), 2] : figure(n.arg, scope);
    }
    case 'SubLink': {
      if (n.subLinkType === 'EXISTS_SUBLINK') return ['exists', 1];
      if (n.subLinkType === 'ARRAY_SUBLINK') return ['array', 1];
      return none; // PostgreSQL names scalar subqueries after their column; not needed, so left unnamed
    }
    case 'CaseExpr': {
      const inner = figure(n.defresult, scope);
      return inner[1] > 1 ? inner : ['case', 1];
    }
    case 'CoalesceExpr':
      return ['coalesce', 1];
    case 'MinMaxExpr':
      return [n.op === 'IS_LEAST' ? 'least' : 'greatest', 1];
    case 'A_ArrayExpr':
      return ['array', 1];
    case 'RowExpr':
      return ['row', 1];
    default:
      return none;
  }
}
