import { stringify } from 'yaml';
import type { FeedbackRow } from '../core/history/feedback.ts';
import { ellipsize, oneLine } from '../core/replies/format.ts';
import type { EvalCase } from './cases.ts';

/** What heads a file of draft cases: how to finish them. */
const HEADER = `# Draft evaluation cases from 👎 feedback (npm run eval -- --from-feedback). Each is a request a
# person rated down, with what the answer did and why it was bad in its note. To make one a case:
#   - fill in \`expect\` with what a good answer does (tools, args, plan, answer; see eval/cases.yaml),
#   - replace real order numbers with {order:<status>} (the evaluation runs on demo data),
#   - move it into eval/cases.yaml (or pass this file with --cases).
`;

/**
 * 👎 feedback as draft evaluation cases (eval/cases.ts's format): the request as asked, the
 * reason, the tools the answer called and the start of the answer in the note, and an empty
 * `expect` for a person to complete. Follow-ups of a confirmed action (no request of their own)
 * are left out. Pure; returns the YAML text and how many cases it holds.
 */
export function draftCasesFromFeedback(rows: readonly FeedbackRow[]): { yaml: string; count: number } {
  const seen = new Set<string>();
  const cases: EvalCase[] = [];
  for (const f of rows) {
    if (f.rating !== 'down' || f.request === null || seen.has(f.answer_id)) continue;
    seen.add(f.answer_id);
    const reason = f.reason ? `"${oneLine(f.reason).trim()}"` : 'no reason given';
    const tools = f.tools.length ? `called ${[...new Set(f.tools)].join(', ')}` : 'called no tool';
    cases.push({
      id: `feedback-${f.answer_id.slice(0, 8)}`,
      request: f.request,
      role: 'operator',
      note: `👎 on ${f.platform} (${f.updated_at.toISOString().slice(0, 10)}, model ${f.model ?? 'unknown'}): ${reason}. The answer ${tools} and said: "${ellipsize(oneLine(f.answer).trim(), 300)}"`,
      expect: {},
    });
  }
  return { yaml: cases.length ? `${HEADER}\n${stringify({ cases }, { lineWidth: 0 })}` : '', count: cases.length };
}
