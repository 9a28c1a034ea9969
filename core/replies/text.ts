import {
  alignedLines,
  andMore,
  countsText,
  ellipsize,
  hiddenRows,
  linkExpiry,
  oneLine,
  percent,
  progressBar,
  sampleTable,
} from './format.ts';
import { soleStep, type PlanStepView, type Reply, type ReplyBlock, type TableBlock } from './reply.ts';

/** Longest cell (or column name) shown in terminal tables before it is cut with an ellipsis. */
const TEXT_CELL_MAX = 48;

/** Renders a reply as plain text for terminals and fallbacks: aligned tables, facts, confirm steps. */
export function renderText(reply: Reply): string {
  return reply.blocks
    .map(renderBlock)
    .filter((s) => s.length > 0)
    .join('\n\n');
}

/** Next steps (docs/design.md §12) as a numbered list for terminals: typing a number sends that line. */
export function renderSuggestions(suggestions: readonly string[]): string {
  if (suggestions.length === 0) return '';
  return ['Next steps (type the number to send it):', ...suggestions.map((s, i) => `  ${i + 1}. ${oneLine(s)}`)].join(
    '\n',
  );
}

function renderBlock(block: ReplyBlock): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'facts': {
      // Labels are padded to the longest, up to a cell's width: a long label is not repeated in every line's padding.
      const width = Math.min(
        TEXT_CELL_MAX,
        block.facts.reduce((w, f) => Math.max(w, f.label.length), 0),
      );
      const lines = block.facts.map((f) => `${f.label.padEnd(width)}  ${f.value}`);
      return [block.title, ...lines].filter(Boolean).join('\n');
    }
    case 'table':
      return renderTable(block);
    case 'image':
      return `[image] ${block.alt}: ${block.url}`;
    case 'file':
      return `[file] ${block.name} (${block.description}): ${block.url} (valid until ${linkExpiry(block.expiresAt)})`;
    case 'progress':
      return `${block.orderNumber} ${block.status} [${progressBar(block.ratio, { full: '#', empty: '.' })}] ${percent(block.ratio)} (${countsText(block.counts) || 'no jobs'})`;
    case 'confirm': {
      const only = soleStep(block);
      const steps = only
        ? [...only.details.map((d) => `  - ${d}`), ...sampleLines(only.sample, '  ')]
        : block.steps.flatMap((s, i) => [
            `  ${i + 1}. ${s.title}`,
            ...s.details.map((d) => `     - ${d}`),
            ...sampleLines(s.sample, '     '),
          ]);
      const footer =
        block.status === 'pending'
          ? `Type "confirm" to run this or "cancel" to drop it (expires ${block.expiresAt}).`
          : `Status: ${block.status}${block.outcome ? ` — ${block.outcome}` : ''}`;
      return [`${block.title}`, ...steps, footer].join('\n');
    }
  }
}

/** A step's sample as an indented aligned table, with "… and N more". */
function sampleLines(sample: PlanStepView['sample'], indent: string): string[] {
  if (!sample || sample.rows.length === 0) return [];
  return renderTable(sampleTable(sample))
    .split('\n')
    .map((l) => `${indent}${l}`);
}

const cell = (value: string) => ellipsize(oneLine(value), TEXT_CELL_MAX);

function renderTable(block: TableBlock): string {
  const out = alignedLines(
    block.columns.map(cell),
    block.rows.map((r) => r.map(cell)),
    '-',
  );
  if (block.title) out.unshift(block.title);
  const more = hiddenRows(block, block.rows.length);
  if (more > 0) out.push(andMore(more));
  return out.join('\n');
}
