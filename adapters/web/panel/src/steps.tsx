import type { Step } from './api.ts';

const MARK = { running: '…', done: '✓', failed: '✗' } as const;
const LABEL = { running: 'running', done: 'done', failed: 'failed' } as const;

/** What the agent did for an answer: one line per tool call, its state and one line of result (tenant text shown as text, never markup). */
export function Steps({ steps }: { steps: readonly Step[] }) {
  return (
    <ol className="rb-steps" aria-label="Steps">
      {steps.map((s) => (
        <li key={s.id} className={`rb-step rb-step-${s.state}`}>
          <span className="rb-step-mark" aria-label={LABEL[s.state]}>
            {MARK[s.state]}
          </span>
          <span>
            <span className="rb-step-title">{s.title}</span>
            {s.result && <span className="rb-step-result"> — {s.result}</span>}
          </span>
        </li>
      ))}
    </ol>
  );
}
