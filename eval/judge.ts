import { dropNulls } from '../core/tools/schema.ts';
import type { Expectation } from './cases.ts';

/** What one case's conversation did. */
export type Observed = {
  request: string;
  /** Every tool call of the model, in order, with its parsed arguments and what became of it. */
  calls: {
    tool: string;
    args: unknown;
    outcome: 'ran' | 'awaiting_confirmation' | 'folded' | 'error';
    error?: string;
  }[];
  /** Write tools of the confirmation the turn proposed, or null when it proposed none. */
  plan: string[] | null;
  /** The text the user got. */
  answer: string;
  /** Model calls made. */
  rounds: number;
  tokens: { prompt: number; completion: number };
};

/** The expectations `observed` misses, each as one sentence; empty when all hold. */
export function judge(expect: Expectation, observed: Observed): string[] {
  const failures: string[] = [];
  const called = new Set(observed.calls.map((c) => c.tool));
  for (const tool of expect.tools ?? []) if (!called.has(tool)) failures.push(`${tool} was not called`);
  if (expect.tools_any && !expect.tools_any.some((t) => called.has(t)))
    failures.push(`none of ${expect.tools_any.join(', ')} was called`);
  for (const tool of expect.forbid ?? []) if (called.has(tool)) failures.push(`${tool} was called but must not be`);
  for (const [tool, wanted] of Object.entries(expect.args ?? {})) {
    const calls = observed.calls.filter((c) => c.tool === tool);
    if (calls.length === 0) {
      if (!(expect.tools ?? []).includes(tool)) failures.push(`${tool} was not called`);
    } else if (!calls.some((c) => contains(c.args, wanted))) {
      failures.push(
        `${tool} was called with ${JSON.stringify(dropNulls(calls.at(-1)!.args))}, expected it to contain ${JSON.stringify(wanted)}`,
      );
    }
  }
  if (expect.plan !== undefined) {
    const want = expect.plan === 'none' ? null : [...new Set(expect.plan)].sort();
    const got = observed.plan ? [...new Set(observed.plan)].sort() : null;
    if (JSON.stringify(want) !== JSON.stringify(got)) {
      failures.push(
        want
          ? `expected a confirmation of ${want.join(' + ')}, got ${got ? got.join(' + ') : 'none'}`
          : `expected no confirmation, got one of ${got!.join(' + ')}`,
      );
    }
  }
  if (expect.answer && !new RegExp(expect.answer, 'i').test(observed.answer))
    failures.push(`the answer does not match /${expect.answer}/i`);
  if (expect.answer_not && new RegExp(expect.answer_not, 'i').test(observed.answer))
    failures.push(`the answer matches /${expect.answer_not}/i, which it must not`);
  return failures;
}

/**
 * Whether `actual` contains `expected`: objects key by key (extra keys allowed), arrays element
 * by element (each expected element in some actual one), strings case- and space-insensitively,
 * numbers also as their text; null means absent.
 */
function contains(actual: unknown, expected: unknown): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (Array.isArray(expected))
    return Array.isArray(actual) && expected.every((e) => actual.some((a) => contains(a, e)));
  if (typeof expected === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
  }
  if (typeof expected === 'string')
    return (typeof actual === 'string' || typeof actual === 'number') && norm(String(actual)) === norm(expected);
  return actual === expected;
}

const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
