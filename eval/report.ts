import { dropNulls } from '../core/tools/schema.ts';
import type { CaseResult, EvalReport } from './harness.ts';

const fmt = (n: number) => n.toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** One case as a few readable lines: verdict, request, each tool call with its arguments, plan, answer, why it failed. */
export function formatCase(r: CaseResult): string {
  const head = `${r.pass ? 'PASS' : 'FAIL'}  ${r.id}  (${[r.lang, r.role].filter(Boolean).join(', ')})  ${secs(r.latencyMs)}  ${fmt(r.tokens.prompt)} + ${fmt(r.tokens.completion)} tokens`;
  const calls = r.calls.length
    ? r.calls.map(
        (c) =>
          `      ${c.tool} ${clip(JSON.stringify(dropNulls(c.args)), 160)} → ${c.outcome.replace(/_/g, ' ')}${c.error ? `: ${clip(c.error, 120)}` : ''}`,
      )
    : ['      (no tool calls)'];
  return [
    head,
    `  request: ${r.request}`,
    '  tools:',
    ...calls,
    `  plan:    ${r.plan ? r.plan.join(' + ') : 'none'}`,
    `  answer:  ${clip(r.answer.replace(/\s+/g, ' '), 200) || '(empty)'}`,
    ...r.failures.map((f) => `  ✗ ${f}`),
  ].join('\n');
}

/** The closing summary: pass rate, tokens and latency over all cases. */
export function formatSummary(report: EvalReport, model?: string): string {
  const rate = (report.passRate * 100).toFixed(1);
  return [
    `${model ? `${model}: ` : ''}passed ${report.passed} of ${report.total} cases (${rate} %)`,
    `tokens: ${fmt(report.tokens.prompt)} prompt + ${fmt(report.tokens.completion)} completion · latency per case: p50 ${secs(report.latencyMs.p50)}, p95 ${secs(report.latencyMs.p95)}`,
    ...(report.passed < report.total
      ? [
          `failed: ${report.cases
            .filter((c) => !c.pass)
            .map((c) => c.id)
            .join(', ')}`,
        ]
      : []),
  ].join('\n');
}
