import type { ReplyBlock } from './api.ts';
import { Markdown } from './markdown.tsx';

type ConfirmBlock = Extract<ReplyBlock, { type: 'confirm' }>;

/** What a confirm card can ask of the panel. */
export type Decide = (actionId: string, verb: 'confirm' | 'cancel') => void;

const statusLabel: Record<ConfirmBlock['status'], string> = {
  pending: 'Waiting for confirmation',
  executing: 'Running…',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
  expired: 'Expired',
};

/** A reply's blocks in order; consecutive images (thumbnails of an order) form one grid. */
export function Blocks({
  blocks,
  ...rest
}: {
  blocks: ReplyBlock[];
  onDecide: Decide;
  busy: boolean;
  canConfirm: boolean;
}) {
  const groups: ReplyBlock[][] = [];
  for (const b of blocks) {
    const last = groups.at(-1);
    if (b.type === 'image' && last?.[0]?.type === 'image') last.push(b);
    else groups.push([b]);
  }
  return (
    <>
      {groups.map((g, i) =>
        g.length > 1 ? (
          <div key={i} className="rb-gallery">
            {g.map((b, j) => (
              <Block key={j} block={b} {...rest} />
            ))}
          </div>
        ) : (
          <Block key={i} block={g[0]!} {...rest} />
        ),
      )}
    </>
  );
}

/** Renders one reply-model block (docs/design.md §5) as HTML elements; all text goes through React, never innerHTML. */
function Block({
  block,
  onDecide,
  busy,
  canConfirm,
}: {
  block: ReplyBlock;
  onDecide: Decide;
  busy: boolean;
  canConfirm: boolean;
}) {
  switch (block.type) {
    case 'text':
      return <Markdown text={block.text} />;
    case 'facts':
      return (
        <section className="rb-card" aria-label={block.title ?? 'Facts'}>
          {block.title && <h4>{block.title}</h4>}
          <dl className="rb-facts">
            {block.facts.map((f, i) => (
              <div key={i}>
                <dt>{f.label}</dt>
                <dd>{f.value}</dd>
              </div>
            ))}
          </dl>
        </section>
      );
    case 'table':
      return (
        <section className="rb-card" aria-label={block.title ?? 'Table'}>
          {block.title && <h4>{block.title}</h4>}
          <DataTable columns={block.columns} rows={block.rows} />
          {block.truncated && (
            <p className="rb-muted">
              Showing {block.rows.length} of {block.total}.
            </p>
          )}
        </section>
      );
    case 'image':
      return /^https?:\/\//i.test(block.url) ? (
        <img className="rb-image" src={block.url} alt={block.alt} loading="lazy" />
      ) : null;
    case 'file': {
      // Our own signed links only: absolute http(s) or a path on this server (never protocol-relative).
      const linkable = /^https?:\/\//i.test(block.url) || /^\/[^/\\]/.test(block.url);
      return (
        <p className="rb-file">
          📎{' '}
          {linkable ? (
            <a href={block.url} download={block.name}>
              {block.name}
            </a>
          ) : (
            block.name
          )}{' '}
          <span className="rb-muted">
            {block.description} · link valid until{' '}
            {new Date(block.expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC
          </span>
        </p>
      );
    }
    case 'progress': {
      const pct = Math.round(block.ratio * 100);
      return (
        <section className="rb-card" aria-label={`Order ${block.orderNumber} progress`}>
          <h4>
            {block.orderNumber} · {block.status}
          </h4>
          <progress className="rb-progress" max={100} value={pct} aria-label={`${pct}% finished`}>
            {pct}%
          </progress>
          <p className="rb-muted">
            {Object.entries(block.counts)
              .filter(([, n]) => n > 0)
              .map(([s, n]) => `${n} ${s}`)
              .join(' · ') || 'no jobs'}{' '}
            — {pct}% of {block.total}
          </p>
        </section>
      );
    }
    case 'confirm':
      return <ConfirmCard block={block} onDecide={onDecide} busy={busy} canConfirm={canConfirm} />;
  }
}

type Step = ConfirmBlock['steps'][number];

/** A step's details and its sample rows (a table that scrolls sideways rather than wrapping ids). */
function StepBody({ step }: { step: Step }) {
  const sample = step.sample;
  const more = sample ? sample.total - sample.rows.length : 0;
  return (
    <>
      {step.details.length > 0 && (
        <ul>
          {step.details.map((d, j) => (
            <li key={j}>{d}</li>
          ))}
        </ul>
      )}
      {sample && sample.rows.length > 0 && (
        <div className="rb-sample">
          <DataTable columns={sample.columns} rows={sample.rows} />
          {more > 0 && <p className="rb-muted">… and {more.toLocaleString('en-US')} more</p>}
        </div>
      )}
    </>
  );
}

function ConfirmCard({
  block,
  onDecide,
  busy,
  canConfirm,
}: {
  block: ConfirmBlock;
  onDecide: Decide;
  busy: boolean;
  canConfirm: boolean;
}) {
  const pending = block.status === 'pending';
  // A one-step plan is titled by its step: show its details under the title instead of repeating it as "1.".
  const only = block.steps.length === 1 && block.steps[0]!.title === block.title ? block.steps[0] : undefined;
  return (
    <section className={`rb-card rb-confirm rb-confirm-${block.status}`} aria-label={block.title}>
      <h4>{block.title}</h4>
      {only ? (
        <div className="rb-steps rb-steps-one">
          <StepBody step={only} />
        </div>
      ) : (
        <ol className="rb-steps">
          {block.steps.map((s, i) => (
            <li key={i}>
              <strong>{s.title}</strong>
              <StepBody step={s} />
            </li>
          ))}
        </ol>
      )}
      <p className="rb-confirm-status" role="status">
        {statusLabel[block.status]}
        {block.outcome ? ` — ${block.outcome}` : ''}
        {pending && <span className="rb-muted"> (expires {new Date(block.expiresAt).toLocaleTimeString()})</span>}
      </p>
      {pending && (
        <div className="rb-confirm-buttons">
          <button
            type="button"
            className="rb-btn rb-btn-primary"
            disabled={busy || !canConfirm}
            onClick={() => onDecide(block.actionId, 'confirm')}
            title={canConfirm ? undefined : 'Only operators and admins can confirm'}
          >
            Confirm
          </button>
          <button type="button" className="rb-btn" disabled={busy} onClick={() => onDecide(block.actionId, 'cancel')}>
            Cancel
          </button>
        </div>
      )}
    </section>
  );
}

/** Columns and rows as a scrollable table (a table block, a confirm card's sample). */
function DataTable({ columns, rows }: { columns: readonly string[]; rows: readonly (readonly string[])[] }) {
  return (
    <div className="rb-table-wrap">
      <table className="rb-table">
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
