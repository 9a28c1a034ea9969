import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { roleSchema } from '../core/tenancy/roles.ts';

/** Write tools a plan may hold, or the word `none` for "no confirmation at all". */
const planSchema = z.union([z.literal('none'), z.array(z.string().min(1)).min(1)]);

/** What a good answer to a case does; every given check must hold. */
const expectationSchema = z.strictObject({
  /** Tools that must each be called at least once (reads run; writes must end in the plan). */
  tools: z.array(z.string().min(1)).optional(),
  /** At least one of these tools must be called. */
  tools_any: z.array(z.string().min(1)).optional(),
  /** Tools that must not be called. */
  forbid: z.array(z.string().min(1)).optional(),
  /** Per tool, arguments some call of it must contain (subset match; strings case-insensitive). */
  args: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  /** The write tools of the confirmation the turn ends with (as a set), or `none`. */
  plan: planSchema.optional(),
  /** A regular expression (case-insensitive) the final answer must match. */
  answer: z.string().optional(),
  /** A regular expression (case-insensitive) the final answer must not match. */
  answer_not: z.string().optional(),
});
export type Expectation = z.infer<typeof expectationSchema>;

/**
 * One realistic request, asked in a fresh conversation. `{order:<status>}` in the request or
 * the expected arguments stands for an order number of the sandbox in that status.
 */
const evalCaseSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'ids are lower-case words joined by -'),
  request: z.string().min(1),
  lang: z.enum(['de', 'en']).optional(),
  /** Who asks: operator (default) or viewer / admin. */
  role: roleSchema.default('operator'),
  /** Why this case exists, for whoever reads a failure. */
  note: z.string().optional(),
  expect: expectationSchema,
});
export type EvalCase = z.infer<typeof evalCaseSchema>;

const casesFileSchema = z.strictObject({ cases: z.array(evalCaseSchema).min(1) });

/** Parses a cases file (YAML, see eval/cases.yaml); throws one readable error naming the problem. */
export function parseCases(text: string, source = 'cases'): EvalCase[] {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid YAML — ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, {
      cause: err,
    });
  }
  const parsed = casesFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${source}: ${issue.path.join('.') || '(file)'}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const c of parsed.data.cases) {
    if (seen.has(c.id)) throw new Error(`${source}: case id "${c.id}" appears twice`);
    seen.add(c.id);
  }
  return parsed.data.cases;
}

/** Reads and parses a cases file. */
export function loadCases(path: string): EvalCase[] {
  return parseCases(readFileSync(path, 'utf8'), path);
}
