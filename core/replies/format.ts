import type { PlanStepView, TableBlock } from './reply.ts';

/**
 * Platform-neutral presentation helpers the renderers share (terminal text, Block Kit, Adaptive
 * Cards, notices). Platform escaping stays with each renderer.
 */

/** Whitespace (newlines, tabs, runs of spaces) folded into single spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}

/**
 * `text` cut to at most `max` characters, ending in "…" when it was cut. `safeHead` may shorten
 * the kept head further (e.g. so that an escape sequence is never cut in half).
 */
export function ellipsize(text: string, max: number, safeHead: (head: string) => string = (h) => h): string {
  if (text.length <= max) return text;
  return `${safeHead(text.slice(0, Math.max(0, max - 1)))}…`;
}

/** "… and 1,234 more", for lists and tables that show only their first rows. */
export function andMore(count: number): string {
  return `… and ${count.toLocaleString('en-US')} more`;
}

/** How many rows of a table are not shown (`total` may exceed the rows sent). */
export function hiddenRows(block: Pick<TableBlock, 'total' | 'rows'>, shown: number): number {
  return Math.max(block.total, block.rows.length) - shown;
}

/** A confirmation step's sample (e.g. 5 of 60,000 products) as a table block. */
export function sampleTable(sample: NonNullable<PlanStepView['sample']>): TableBlock {
  return {
    type: 'table',
    columns: sample.columns,
    rows: sample.rows,
    total: sample.total,
    truncated: sample.total > sample.rows.length,
  };
}

/** Width in characters of progress bars. */
const PROGRESS_BAR_WIDTH = 20;

/** A text progress bar for a 0..1 ratio, e.g. `█████░░░░░` (the characters are the caller's choice). */
export function progressBar(
  ratio: number,
  chars: { full: string; empty: string } = { full: '█', empty: '░' },
  width = PROGRESS_BAR_WIDTH,
): string {
  const filled = Math.round(Math.min(1, Math.max(0, ratio)) * width);
  return `${chars.full.repeat(filled)}${chars.empty.repeat(width - filled)}`;
}

/** A ratio as a whole percentage, e.g. `33%`. */
export function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** The non-zero counts of a progress block, e.g. `1 completed, 2 queued` (empty when there are none). */
export function countsText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

/**
 * Rows aligned in columns for monospace display: the header line, a rule of `rule` characters
 * under it when given, then the rows. Cells should already be single-line; trailing spaces are trimmed.
 */
export function alignedLines(columns: string[], rows: string[][], rule?: string): string[] {
  // A loop, not Math.max(...rows): spreading a table of many thousand rows overflows the stack.
  const widths = columns.map((c) => c.length);
  for (const r of rows) {
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length);
  }
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), ...(rule ? [widths.map((w) => rule.repeat(w)).join('  ')] : []), ...rows.map(line)];
}

/** When a file link stops working, for people: `2026-12-07 05:00 UTC`. */
export function linkExpiry(expiresAt: string): string {
  const d = new Date(expiresAt);
  return Number.isNaN(d.getTime()) ? expiresAt : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
