/*
 * Regular expressions PostgreSQL compiles for a query (~, SIMILAR TO, regexp_replace, substring …
 * FROM, jsonpath like_regex) are kept in a cache of 32 per connection, across queries. A counted
 * repetition copies what it repeats, so nested ones multiply: `(a{0,255}){0,60}` is 30 characters
 * and stays in that cache as 85 MB. The guard therefore sees every pattern and bounds its copies.
 */

import { isObject, tagged } from './columns.ts';

/** Atoms a pattern may compile to, counting each once per copy its {m,n} repetitions make (about 2 MB compiled). */
const MAX_REGEX_ATOMS = 500;

/** Operators whose right operand PostgreSQL compiles as a regular expression. */
const REGEX_OPERATORS: ReadonlySet<string> = new Set(['~', '~*', '!~', '!~*']);
/** Which argument of a function PostgreSQL compiles as a regular expression. */
const PATTERN_ARGUMENT: Readonly<Record<string, number>> = { regexp_replace: 1, substring: 1, similar_to_escape: 0 };

/**
 * The patterns of `x ~ 'p'`, `x ~ any (array['p', 'q'])`, `x ~ any (select …)` and of a jsonpath's
 * like_regex (`@?`, `@@`): why one is refused, or undefined. `right` is the operator's right operand.
 */
export function operatorPatternProblem(op: string, right: unknown): string | undefined {
  if (REGEX_OPERATORS.has(op)) {
    const node = tagged(right);
    const patterns = node?.[0] === 'A_ArrayExpr' && Array.isArray(node[1].elements) ? node[1].elements : [right];
    for (const pattern of patterns) {
      const problem = regexProblem(stringLiteral(pattern), `the operator ${op}`);
      if (problem) return problem;
    }
    return undefined;
  }
  const path = stringLiteral(right);
  return (op === '@?' || op === '@@') && path !== undefined && /like_regex/i.test(path)
    ? regexProblem(path, 'like_regex')
    : undefined;
}

/**
 * The pattern argument of regexp_replace, substring … FROM and SIMILAR TO (similar_to_escape): why
 * it is refused, or undefined. substring(x, 2) takes positions: `secondIsNumber` says so.
 */
export function callPatternProblem(name: string, args: unknown[], secondIsNumber: boolean): string | undefined {
  const index = PATTERN_ARGUMENT[name];
  if (index === undefined || args[index] === undefined) return undefined;
  const pattern = stringLiteral(args[index]);
  if (name === 'substring' && pattern === undefined && secondIsNumber) return undefined;
  return regexProblem(pattern, name === 'similar_to_escape' ? 'SIMILAR TO' : `${name}()`);
}

/** A string literal's text (not a number's), or undefined. */
function stringLiteral(value: unknown): string | undefined {
  const c = tagged(value);
  return c?.[0] === 'A_Const' && isObject(c[1].sval) ? String(c[1].sval.sval ?? '') : undefined;
}

/**
 * Why `pattern`, used as a regular expression by `where` (an operator or function name), is
 * refused: it is not a literal, or it compiles to more than MAX_REGEX_ATOMS atoms. Undefined if fine.
 */
function regexProblem(pattern: string | undefined, where: string): string | undefined {
  if (pattern === undefined) {
    return `The regular expression of ${where} must be a string literal, so that its size is known before PostgreSQL compiles it.`;
  }
  const atoms = regexAtoms(pattern);
  if (atoms <= MAX_REGEX_ATOMS) return undefined;
  return (
    `The regular expression of ${where} compiles to about ${atoms.toLocaleString('en-US')} states (the limit is ${MAX_REGEX_ATOMS}): ` +
    'counted repetitions such as {0,255} inside other repetitions multiply. Use a shorter pattern, or LIKE.'
  );
}

/**
 * An upper bound on the atoms of a pattern once PostgreSQL expands its counted repetitions: every
 * character, bracket expression or escape counts once for each copy the {m}, {m,} or {m,n} around
 * it make (m, or n, or m + 1). `*`, `+` and `?` loop instead of copying.
 */
function regexAtoms(pattern: string): number {
  const groups: { total: number; last: number }[] = [{ total: 0, last: 0 }];
  const top = () => groups[groups.length - 1]!;
  const atom = (weight: number) => {
    top().total += weight;
    top().last = weight;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
      atom(1);
    } else if (c === '[') {
      i = bracketEnd(pattern, i);
      atom(1);
    } else if (c === '(') {
      groups.push({ total: 0, last: 0 });
    } else if (c === ')' && groups.length > 1) {
      const group = groups.pop()!;
      atom(group.total);
    } else if (c === '{') {
      const bound = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (!bound) {
        atom(1);
        continue;
      }
      const min = Number(bound[1]);
      const copies = bound[2] === undefined ? min : bound[3] ? Number(bound[3]) : min + 1;
      top().total += top().last * (Math.max(copies, 1) - 1);
      top().last *= Math.max(copies, 1);
      i += bound[0].length - 1;
    } else if (c !== '*' && c !== '+' && c !== '?' && c !== '|') {
      atom(1);
    }
  }
  return groups.reduce((sum, g) => sum + g.total, 0);
}

/** Index of the `]` closing the bracket expression opened at `start` (a `]` first in it is a member). */
function bracketEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === '[' && (pattern[i + 1] === ':' || pattern[i + 1] === '.' || pattern[i + 1] === '=')) {
      const close = pattern.indexOf(`${pattern[i + 1]}]`, i + 2);
      if (close >= 0) i = close + 1;
    } else if (pattern[i] === ']') {
      return i;
    }
  }
  return pattern.length;
}
