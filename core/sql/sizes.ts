/*
 * How large a value a guarded query can compute, per function, operator and cast. PostgreSQL has
 * no memory limit per connection, so the guard bounds the values instead (budget.ts adds them up
 * over a query). A bound is `stored × S + fixed` bytes, where S is the largest text or jsonb value
 * stored in a column the tenant views show; it bounds the value both in memory and written as text.
 */

/** An upper bound on a value's size: `stored` times the largest stored value plus `fixed` bytes. */
export type Size = { stored: number; fixed: number };

/**
 * A value's bound and what kind of value it may be: `integer` for int2/int4/int8 (arithmetic on them
 * stays small: it fails on overflow), `number` for any other number (its text is digits, so a cast
 * to numeric keeps its length), `json` when it is json or jsonb already (a cast to jsonb parses no
 * new numbers), `other` for anything else, text included.
 */
export type Value = { size: Size; kind: 'integer' | 'number' | 'json' | 'other' };

/** A function argument: its bound and, when it is a literal, its text. */
export type Arg = { value: Value; literal?: string | undefined };

/** Bytes of PostgreSQL's largest numeric written out: 131,072 digits before the point, 16,383 after, sign and point. */
export const NUMERIC_BYTES = 131_072 + 16_383 + 2;
/** Bytes a number, date, time, interval, uuid or boolean takes at most, also as text. */
export const SMALL_BYTES = 128;
/** Longest pad lpad and rpad may build, in characters: an answer shows at most 2,000 characters of a value. */
export const MAX_PAD_CHARS = 2_000;
/** A float8 cast to numeric is written out in full: up to 309 digits before the point or 324 after it. */
const FLOAT_DIGITS = 340;
/** How much larger than its text a parsed jsonb, array or record can be in memory (numbers with exponents aside). */
const PARSE_GROWTH = 8;
/** Text parsed as json or numeric can hold a number such as 1e99999 every 8 characters, each up to NUMERIC_BYTES. */
const JSON_GROWTH = Math.ceil(NUMERIC_BYTES / 8);
/** UTF-8 bytes of one character at most. */
const CHAR_BYTES = 4;
/** The most decimal places round and trunc accept. */
const MAX_SCALE = 16_383;

export const sized = (fixed: number, stored = 0): Size => ({ stored, fixed });
export const zero: Size = sized(0);

const mul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : a * b);

/** The bound of several values together (concatenated, or all alive at once). */
export function plus(...sizes: Size[]): Size {
  return sizes.reduce((a, b) => ({ stored: a.stored + b.stored, fixed: a.fixed + b.fixed }), zero);
}

/** A bound for whichever of the values it is. */
export function largest(...sizes: Size[]): Size {
  return sizes.reduce((a, b) => ({ stored: Math.max(a.stored, b.stored), fixed: Math.max(a.fixed, b.fixed) }), zero);
}

export function scaled(size: Size, k: number): Size {
  return { stored: mul(size.stored, k), fixed: mul(size.fixed, k) };
}

/** The bound of a product; S² is more than any budget, so two stored parts multiply to Infinity. */
function times(a: Size, b: Size): Size {
  return {
    stored: a.stored && b.stored ? Infinity : mul(a.stored, b.fixed) + mul(b.stored, a.fixed),
    fixed: mul(a.fixed, b.fixed),
  };
}

/** True when `a` is no larger than `b` whatever S is. */
export function atMost(a: Size, b: Size): boolean {
  return a.stored <= b.stored && a.fixed <= b.fixed;
}

/** A numeric result: never longer than PostgreSQL's largest numeric, whatever its inputs. */
function numeric(size: Size): Size {
  return { stored: size.stored, fixed: Math.min(size.fixed, NUMERIC_BYTES) };
}

const small: Value = { size: sized(SMALL_BYTES), kind: 'other' };
const count: Value = { size: sized(SMALL_BYTES), kind: 'integer' };
const smallNumber: Value = { size: sized(SMALL_BYTES), kind: 'number' };
const num = (size: Size): Value => ({ size: numeric(size), kind: 'number' });
const text = (size: Size): Value => ({ size, kind: 'other' });
const isNumber = (value: Value): boolean => value.kind === 'integer' || value.kind === 'number';
const allNumbers = (args: Arg[]): boolean => args.length > 0 && args.every((a) => isNumber(a.value));
const allIntegers = (args: Arg[]): boolean => args.length > 0 && args.every((a) => a.value.kind === 'integer');
/** The kind of a value picked from the arguments (min, max, lag …). */
const pickedKind = (args: Arg[]): Value['kind'] =>
  allIntegers(args) ? 'integer' : allNumbers(args) ? 'number' : 'other';
const sizes = (args: Arg[]): Size[] => args.map((a) => a.value.size);

/**
 * A literal's bound whatever type PostgreSQL gives it: text as written, or parsed into jsonb, an
 * array or a numeric, where `1e99999` alone becomes 100,000 digits.
 */
export function literalSize(literal: string): Size {
  let exponents = 0;
  for (const m of literal.matchAll(/e[+-]?(\d+)/gi)) exponents += Math.min(NUMERIC_BYTES, Number(m[1]) + 32);
  return sized(PARSE_GROWTH * Buffer.byteLength(literal) + exponents);
}

/** A number written in the query (`42`, `1.5`, `1e99999`); whole numbers up to 18 digits are integers. */
export function numberLiteral(literal: string): Value {
  if (/^-?\d{1,18}$/.test(literal)) return count;
  const exponent = /e[+-]?(\d+)/i.exec(literal);
  const digits = literal.length + (exponent ? Number(exponent[1]) : 0) + 8;
  return { size: sized(Math.min(digits, NUMERIC_BYTES)), kind: 'number' };
}

/** Bytes of an argument used as text: exact for a literal, its bound otherwise. */
function textSize(arg: Arg | undefined): Size {
  if (!arg) return zero;
  return arg.literal !== undefined ? sized(Buffer.byteLength(arg.literal)) : arg.value.size;
}

/** An integer literal's value, or undefined for anything else. */
function integer(arg: Arg | undefined): number | undefined {
  return arg?.literal !== undefined && /^-?\d+$/.test(arg.literal) ? Number(arg.literal) : undefined;
}

type Rule = (args: Arg[], name: string) => Value | string;

const fixedInteger: Rule = () => count;
const fixedNumber: Rule = () => smallNumber;
const fixedOther: Rule = () => small;
/** At most as large as the largest argument (substrings, trims, picks of one input value). */
const part: Rule = (args) => ({ size: largest(...sizes(args)), kind: pickedKind(args) });
/** A piece of json or jsonb (or its text): at most the input. */
const jsonPart: Rule = (args) => ({ size: largest(...sizes(args)), kind: 'json' });

function pad(args: Arg[], name: string): Value | string {
  const length = integer(args[1]);
  const limit = MAX_PAD_CHARS.toLocaleString('en-US');
  if (length === undefined)
    return `${name}() needs its length as a number literal (at most ${limit}), so the size of the value is known before it runs.`;
  if (length > MAX_PAD_CHARS) {
    return `${name}(…, ${length}, …) would build a ${length.toLocaleString('en-US')}-character value; the limit is ${limit} characters (answers cut longer values anyway).`;
  }
  return text(sized(CHAR_BYTES * Math.max(length, 0)));
}

function replace(args: Arg[]): Value {
  const [source, from, to] = args;
  const fromBytes = from?.literal !== undefined ? Buffer.byteLength(from.literal) : 0;
  const toBytes = to?.literal !== undefined ? Buffer.byteLength(to.literal) : Infinity;
  if (fromBytes > 0 && toBytes <= fromBytes) return text(textSize(source));
  // Every match (at least one byte of the source) may become the whole replacement.
  return text(times(plus(textSize(source), sized(1)), plus(textSize(to), sized(1))));
}

/** Each match (possibly empty) becomes the replacement, whose \1…\9 repeat parts of the match. */
function regexpReplace(args: Arg[]): Value {
  return text(times(plus(textSize(args[0]), sized(1)), plus(scaled(textSize(args[2]), 2), sized(1))));
}

/** Every element (at least one character of the array's text) adds a separator or the null string. */
function arrayToString(args: Arg[]): Value {
  const [array, separator, nulls] = args;
  return text(times(plus(textSize(array), sized(1)), plus(textSize(separator), textSize(nulls), sized(1))));
}

/** to_char allocates 12 bytes per format character for dates and 8 for numbers, plus the value's digits. */
function toChar(args: Arg[]): Value {
  return text(plus(scaled(textSize(args[1]), 12), scaled(textSize(args[0]), 2), sized(64)));
}

function round(args: Arg[]): Value {
  const places = integer(args[1]);
  const extra = args.length < 2 ? 8 : places === undefined ? MAX_SCALE : Math.min(Math.max(places, 0), MAX_SCALE);
  return num(plus(args[0]?.value.size ?? zero, sized(extra + 8)));
}

function power(args: Arg[]): Value {
  const exponent = integer(args[1]);
  if (exponent === undefined || Math.abs(exponent) > 64) return num(sized(NUMERIC_BYTES));
  return num(plus(scaled(args[0]?.value.size ?? zero, Math.max(Math.abs(exponent), 1)), sized(1024)));
}

/** Variances square their inputs: twice the digits. */
const spread: Rule = (args) => num(plus(scaled(largest(...sizes(args)), 2), sized(64)));

function concatWs(args: Arg[]): Value {
  const [separator, ...rest] = args;
  return text(plus(...rest.map(textSize), scaled(textSize(separator), Math.max(rest.length - 1, 0))));
}

/** How large each allowed function's result can be, from its arguments' bounds. */
const FUNCTIONS: Readonly<Record<string, Rule>> = {
  // aggregates and window functions
  count: fixedInteger,
  sum: (a) => num(plus(...sizes(a), sized(32))),
  avg: (a) => num(plus(...sizes(a), sized(64))),
  min: part,
  max: part,
  bool_and: fixedOther,
  bool_or: fixedOther,
  every: fixedOther,
  percentile_cont: fixedNumber,
  percentile_disc: part,
  mode: part,
  stddev: spread,
  stddev_samp: spread,
  stddev_pop: spread,
  variance: spread,
  var_samp: spread,
  var_pop: spread,
  row_number: fixedInteger,
  rank: fixedInteger,
  dense_rank: fixedInteger,
  percent_rank: fixedNumber,
  cume_dist: fixedNumber,
  ntile: fixedInteger,
  lag: part,
  lead: part,
  first_value: part,
  last_value: part,
  nth_value: part,
  // date/time
  now: fixedOther,
  date_trunc: fixedOther,
  date_part: fixedNumber,
  extract: fixedNumber,
  age: fixedOther,
  to_char: toChar,
  to_date: fixedOther,
  to_timestamp: fixedOther,
  make_date: fixedOther,
  make_time: fixedOther,
  make_timestamp: fixedOther,
  make_timestamptz: fixedOther,
  make_interval: fixedOther,
  justify_days: fixedOther,
  justify_hours: fixedOther,
  justify_interval: fixedOther,
  date_bin: fixedOther,
  isfinite: fixedOther,
  timezone: fixedOther,
  generate_series: (a) => ({ size: numeric(plus(...sizes(a))), kind: pickedKind(a) }),
  // string
  lower: (a) => text(scaled(textSize(a[0]), 3)),
  upper: (a) => text(scaled(textSize(a[0]), 3)),
  initcap: (a) => text(scaled(textSize(a[0]), 3)),
  length: fixedInteger,
  char_length: fixedInteger,
  character_length: fixedInteger,
  position: fixedInteger,
  strpos: fixedInteger,
  starts_with: fixedOther,
  substr: part,
  substring: part,
  trim: part,
  btrim: part,
  ltrim: part,
  rtrim: part,
  left: part,
  right: part,
  split_part: part,
  reverse: part,
  replace,
  regexp_replace: regexpReplace,
  lpad: pad,
  rpad: pad,
  concat: (a) => text(plus(...a.map(textSize))),
  concat_ws: concatWs,
  to_number: () => num(sized(NUMERIC_BYTES)),
  similar_to_escape: (a) => text(plus(scaled(textSize(a[0]), 2), sized(8))),
  // math
  round,
  trunc: round,
  floor: (a) => num(plus(...sizes(a), sized(8))),
  ceil: (a) => num(plus(...sizes(a), sized(8))),
  ceiling: (a) => num(plus(...sizes(a), sized(8))),
  abs: (a) => num(plus(...sizes(a), sized(8))),
  sign: fixedNumber,
  power,
  sqrt: (a) => num(plus(...sizes(a), sized(1032))),
  ln: (a) => num(plus(...sizes(a), sized(1032))),
  log: (a) => num(plus(...sizes(a), sized(1032))),
  exp: () => num(sized(NUMERIC_BYTES)),
  mod: (a) => (allIntegers(a) ? count : num(plus(...sizes(a), sized(8)))),
  div: (a) => num(plus(...sizes(a), sized(8))),
  width_bucket: fixedInteger,
  // jsonb and arrays
  jsonb_extract_path: jsonPart,
  jsonb_extract_path_text: part,
  jsonb_array_length: fixedInteger,
  jsonb_typeof: fixedOther,
  jsonb_object_keys: part,
  jsonb_array_elements: jsonPart,
  jsonb_array_elements_text: part,
  jsonb_each: jsonPart,
  jsonb_each_text: part,
  array_length: fixedInteger,
  cardinality: fixedInteger,
  array_to_string: arrayToString,
  unnest: part,
};

/** Names the size rules know; every allowlisted function must be one of them. */
export const SIZED_FUNCTIONS: ReadonlySet<string> = new Set(Object.keys(FUNCTIONS));

/** The bound of `name(args)`, or why the call is refused. */
export function callValue(name: string, args: Arg[]): Value | string {
  const rule = FUNCTIONS[name];
  if (!rule) return `Function ${name}() is not on the allowlist.`;
  return rule(args, name);
}

const PREDICATES: ReadonlySet<string> = new Set([
  '=',
  '<>',
  '!=',
  '<',
  '>',
  '<=',
  '>=',
  '~',
  '~*',
  '!~',
  '!~*',
  '~~',
  '~~*',
  '!~~',
  '!~~*',
  '@>',
  '<@',
  '?',
  '?|',
  '?&',
  '&&',
  '@@',
  '@?',
  '<%',
  '%>',
  '<<%',
  '%>>',
  '<->',
  '<<->',
  '<->>',
  '<<<->',
  '<->>>',
]);
const JSON_PICKS: ReadonlySet<string> = new Set(['->', '->>', '#>', '#>>', '#-']);

/** The bound of `left op right` (`left` is undefined for a prefix operator such as unary minus). */
export function operatorValue(op: string, left: Value | undefined, right: Value): Value {
  const integers = right.kind === 'integer' && (left === undefined || left.kind === 'integer');
  const numbers = isNumber(right) && (left === undefined || isNumber(left));
  const arithmetic = (extra: number): Value =>
    integers
      ? count
      : { size: numeric(plus(left?.size ?? zero, right.size, sized(extra))), kind: numbers ? 'number' : 'other' };
  if (!left) {
    if (op === '|/' || op === '||/') return num(plus(right.size, sized(1032)));
    if (op === '-' || op === '+' || op === '@') return arithmetic(8);
    return { size: plus(right.size, sized(8)), kind: 'other' }; // ~ on a bit string keeps its length
  }
  if (PREDICATES.has(op)) return small;
  if (JSON_PICKS.has(op))
    return { size: left.size, kind: op === '->' || op === '#>' || op === '#-' ? 'json' : 'other' };
  switch (op) {
    case '||':
      return text(plus(left.size, right.size, sized(8)));
    case '+':
    case '*':
    case '%':
      return arithmetic(8);
    case '/':
      return arithmetic(1032);
    case '^':
      return integers ? smallNumber : num(sized(NUMERIC_BYTES)); // integer ^ integer is a float8
    // number minus number, or jsonb minus a key, index or path (never longer than the jsonb)
    case '-':
      return integers
        ? count
        : {
            size: {
              stored: left.size.stored + right.size.stored,
              fixed: Math.min(left.size.fixed + right.size.fixed + 8, Math.max(left.size.fixed, NUMERIC_BYTES)),
            },
            kind: numbers ? 'number' : 'other',
          };
    default:
      return text(plus(left.size, right.size, sized(8)));
  }
}

const FIXED_TYPES: ReadonlySet<string> = new Set([
  'bool',
  'boolean',
  'date',
  'time',
  'timetz',
  'timestamp',
  'timestamptz',
  'interval',
  'uuid',
]);
const INTEGER_TYPES: ReadonlySet<string> = new Set(['int2', 'int4', 'int8', 'smallint', 'integer', 'int', 'bigint']);
const FLOAT_TYPES: ReadonlySet<string> = new Set(['float4', 'float8', 'real']);

/**
 * The bound of `arg::type` (`typmods` are the literal modifiers, as in char(10) or numeric(10, 2)).
 * Parsing text can make it much larger: into jsonb or an array (PARSE_GROWTH), and any numeric in
 * it written with an exponent (JSON_GROWTH).
 */
export function castValue(type: string, typmods: (number | undefined)[], isArray: boolean, arg: Arg): Value {
  const { size, kind } = arg.value;
  if (isArray) {
    if (arg.literal !== undefined) return text(literalSize(arg.literal));
    const parsesNumbers = type === 'numeric' || type === 'decimal' || type === 'json' || type === 'jsonb';
    return text(plus(scaled(size, parsesNumbers ? JSON_GROWTH : PARSE_GROWTH), sized(32)));
  }
  if (FIXED_TYPES.has(type)) return small;
  if (INTEGER_TYPES.has(type)) return count;
  if (FLOAT_TYPES.has(type)) return smallNumber;
  const [modifier] = typmods;
  switch (type) {
    case 'numeric':
    case 'decimal':
      if (modifier !== undefined) return num(sized(modifier + 8));
      if (kind === 'integer' || kind === 'number') return num(plus(largest(size, sized(FLOAT_DIGITS)), sized(8)));
      return num(arg.literal !== undefined ? literalSize(arg.literal) : sized(NUMERIC_BYTES));
    case 'json':
    case 'jsonb':
      if (arg.literal !== undefined) return { size: literalSize(arg.literal), kind: 'json' };
      if (kind !== 'other') return { size: plus(size, sized(8)), kind: 'json' };
      return { size: plus(scaled(size, JSON_GROWTH), sized(8)), kind: 'json' };
    case 'char':
    case 'bpchar':
      // char(n) pads to n characters; bare bpchar keeps the text, bare char is char(1).
      if (modifier !== undefined) return text(sized(CHAR_BYTES * modifier));
      return type === 'char' ? text(sized(CHAR_BYTES)) : { size, kind };
    case 'varchar':
      if (modifier !== undefined && size.stored > 0) return text(sized(CHAR_BYTES * modifier));
      return { size: modifier !== undefined ? sized(Math.min(size.fixed, CHAR_BYTES * modifier)) : size, kind };
    default: // text: digits stay digits, but they are no longer an integer that arithmetic keeps small
      return { size, kind: kind === 'json' ? 'other' : kind === 'integer' ? 'number' : kind };
  }
}
