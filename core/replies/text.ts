import { soleStep, type PlanStepView, type Reply, type ReplyBlock, type TableBlock } from './reply.ts';

/** Longest cell shown in terminal tables before it is cut with an ellipsis. */
export const TEXT_CELL_MAX = 48;

/** Renders a reply as plain text for terminals and fallbacks: aligned tables, facts, confirm steps. */
export function renderText(reply: Reply): string {
  return reply.blocks.map(renderBlock).filter((s) => s.length > 0).join('\n\n');
}

function renderBlock(block: ReplyBlock): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'facts': {
      const width = Math.max(0, ...block.facts.map((f) => f.label.length));
      const lines = block.facts.map((f) => `${f.label.padEnd(width)}  ${f.value}`);
      return [block.title, ...lines].filter(Boolean).join('\n');
    }
    case 'table':
      return renderTable(block);
    case 'image':
      return `[image] ${block.alt}: ${block.url}`;
    case 'progress': {
      const width = 20;
      const filled = Math.round(block.ratio * width);
      const counts = Object.entries(block.counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
      return `${block.orderNumber} ${block.status} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(block.ratio * 100)}% (${counts || 'no jobs'})`;
    }
    case 'confirm': {
      const only = soleStep(block);
      const steps = only
        ? [...only.details.map((d) => `  - ${d}`), ...sampleLines(only.sample, '  ')]
        : block.steps.flatMap((s, i) => [`  ${i + 1}. ${s.title}`, ...s.details.map((d) => `     - ${d}`), ...sampleLines(s.sample, '     ')]);
      const footer = block.status === 'pending'
        ? `Type "confirm" to run this or "cancel" to drop it (expires ${block.expiresAt}).`
        : `Status: ${block.status}${block.outcome ? ` — ${block.outcome}` : ''}`;
      return [`${block.title}`, ...steps, footer].join('\n');
    }
  }
}

/** A step's sample as an indented aligned table, with "… and N more". */
function sampleLines(sample: PlanStepView['sample'], indent: string): string[] {
  if (!sample || sample.rows.length === 0) return [];
  const table = renderTable({ type: 'table', columns: sample.columns, rows: sample.rows, total: sample.total, truncated: sample.total > sample.rows.length });
  return table.split('\n').map((l) => `${indent}${l}`);
}

function cut(value: string): string {
  const flat = value.replace(/\s+/g, ' ');
  return flat.length > TEXT_CELL_MAX ? `${flat.slice(0, TEXT_CELL_MAX - 1)}…` : flat;
}

function renderTable(block: TableBlock): string {
  const rows = block.rows.map((r) => r.map(cut));
  const widths = block.columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(block.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  if (block.title) out.unshift(block.title);
  if (block.total > block.rows.length) out.push(`… and ${(block.total - block.rows.length).toLocaleString('en-US')} more`);
  return out.join('\n');
}
