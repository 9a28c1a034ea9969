import { isObject, tagged } from './columns.ts';

/*
 * Query shapes PostgreSQL runs with an in-memory hash table or value that never spills to disk and
 * grows with every row the query produces. work_mem does not apply to them and a planner estimate
 * that is off (easy to provoke with a few WHERE conditions) lets them grow until the statement
 * timeout: measured at 100–700 MB per second here. The guard refuses them.
 */

type Json = { [key: string]: unknown };
/** Where a subquery test stands: a WHERE condition joined with AND (which PostgreSQL turns into a join), under NOT there, or elsewhere. */
type Position = 'condition' | 'negated' | 'elsewhere';

/** Why ARRAY(SELECT …) is refused; budget.ts refuses it too, in case it is reached first. */
export const ARRAY_SUBQUERY =
  "ARRAY(SELECT …) gathers every row of the subquery into one value, which can exhaust the server's memory; select the rows instead, or count them.";
const SET_OPERATION =
  'INTERSECT and EXCEPT are not supported because PostgreSQL may hold one side entirely in memory; write them as WHERE EXISTS (…) or WHERE NOT EXISTS (…).';
const PATH_CLAUSE =
  'SEARCH and CYCLE clauses keep the whole path in every row, which grows without limit; count the depth in a column and stop at a maximum depth instead.';
const NOT_IN =
  'NOT IN (SELECT …) can make PostgreSQL hold the whole subquery result in memory; write NOT EXISTS (SELECT 1 FROM … WHERE …) instead.';
const IN_ELSEWHERE =
  'IN (SELECT …) and = ANY (SELECT …) are allowed only as WHERE conditions joined with AND, because elsewhere PostgreSQL may hold the whole subquery result in memory; use a LEFT JOIN or (SELECT count(*) FROM … WHERE …) > 0 instead.';
const EXISTS_WITH =
  'EXISTS (WITH … SELECT …) can make PostgreSQL hold the whole subquery result in memory; put the WITH at the top of the query and select from it in EXISTS.';
const EXISTS_ELSEWHERE =
  'EXISTS (SELECT …) is allowed only as a WHERE condition joined with AND (or NOT EXISTS there), because elsewhere PostgreSQL may hold the whole subquery result in memory; use (SELECT count(*) FROM … WHERE …) > 0 instead.';

class Refusal extends Error {}
const refuse = (reason: string): never => {
  throw new Refusal(reason);
};

/**
 * Refuses what PostgreSQL would keep in memory without limit: ARRAY(subquery); INTERSECT and
 * EXCEPT; a recursive WITH with UNION (its duplicate check) or SEARCH/CYCLE (a path per row); and
 * IN, = ANY or EXISTS with a subquery anywhere but a WHERE condition joined with AND (elsewhere it
 * can become a hashed subplan holding the whole subquery result), NOT IN (SELECT …) included, and
 * EXISTS with a WITH of its own (which PostgreSQL hashes the same way).
 * Returns the reason, written for the model, or undefined. `select` is an accepted SelectStmt.
 */
export function unboundedShape(select: Json): string | undefined {
  try {
    visitSelect(select);
    return undefined;
  } catch (err) {
    if (err instanceof Refusal) return err.message;
    throw err;
  }
}

/** True when `tree` reads a relation named `name` (a recursive CTE's step reads the CTE). */
export function refersTo(tree: unknown, name: string): boolean {
  if (Array.isArray(tree)) return tree.some((t) => refersTo(t, name));
  if (!isObject(tree)) return false;
  const rangeVar = tree.RangeVar;
  if (isObject(rangeVar) && rangeVar.relname === name && rangeVar.schemaname === undefined) return true;
  return Object.values(tree).some((v) => refersTo(v, name));
}

function visitSelect(select: Json): void {
  if (select.op === 'SETOP_INTERSECT' || select.op === 'SETOP_EXCEPT') refuse(SET_OPERATION);
  const withClause = isObject(select.withClause) ? select.withClause : undefined;
  for (const item of Array.isArray(withClause?.ctes) ? withClause.ctes : []) {
    const cte = tagged(item)?.[1] ?? {};
    if (cte.search_clause !== undefined || cte.cycle_clause !== undefined) refuse(PATH_CLAUSE);
    const query = tagged(cte.ctequery)?.[1] ?? {};
    if (
      withClause?.recursive === true &&
      query.op === 'SETOP_UNION' &&
      query.all !== true &&
      refersTo(query.rarg, String(cte.ctename))
    ) {
      refuse(
        `The recursive WITH ${String(cte.ctename)} must use UNION ALL: UNION keeps every row it produces in memory to drop duplicates; stop the recursion with a WHERE condition instead.`,
      );
    }
    visit(cte.ctequery, 'elsewhere');
  }
  for (const [key, value] of Object.entries(select)) {
    if (key === 'withClause') continue;
    if ((key === 'larg' || key === 'rarg') && isObject(value)) visitSelect(value);
    else visit(value, key === 'whereClause' ? 'condition' : 'elsewhere');
  }
}

function visit(value: unknown, position: Position): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, position);
    return;
  }
  if (!isObject(value)) return;
  const node = tagged(value);
  if (!node) {
    for (const field of Object.values(value)) visit(field, 'elsewhere');
    return;
  }
  const [type, n] = node;
  if (type === 'SelectStmt') return visitSelect(n);
  if (type === 'SubLink') return visitSubLink(n, position);
  if (type === 'BoolExpr' && position === 'condition' && (n.boolop === 'AND_EXPR' || n.boolop === 'NOT_EXPR')) {
    return visit(n.args, n.boolop === 'AND_EXPR' ? 'condition' : 'negated');
  }
  for (const field of Object.values(n)) visit(field, 'elsewhere');
}

function visitSubLink(link: Json, position: Position): void {
  switch (link.subLinkType) {
    case 'ARRAY_SUBLINK':
      refuse(ARRAY_SUBQUERY);
      break;
    case 'ANY_SUBLINK':
      if (position === 'negated') refuse(NOT_IN);
      if (position === 'elsewhere') refuse(IN_ELSEWHERE);
      break;
    case 'EXISTS_SUBLINK':
      if (position === 'elsewhere') refuse(EXISTS_ELSEWHERE);
      // PostgreSQL does not turn an EXISTS with its own WITH into a join; it may hash it instead.
      if (isObject(tagged(link.subselect)?.[1].withClause)) refuse(EXISTS_WITH);
      break;
  }
  visit(link.testexpr, 'elsewhere');
  visit(link.subselect, 'elsewhere');
}
