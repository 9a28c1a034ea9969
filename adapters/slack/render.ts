import type { types as slack } from '@slack/bolt';
import {
  soleStep,
  type ConfirmBlock,
  type PlanStepView,
  type Reply,
  type ReplyBlock,
  type TableBlock,
} from '../../core/replies/reply.ts';
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
} from '../../core/replies/format.ts';
import { renderText } from '../../core/replies/text.ts';
import { escapeMrkdwn, toMrkdwn } from './mrkdwn.ts';
import { stepsMrkdwn } from './steps.ts';
import { suggestionButtons } from './suggestions-render.ts';
import { answerBlocks } from './answer.ts';

export { escapeMrkdwn, toMrkdwn } from './mrkdwn.ts';

/** Slack Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks) as the renderer applies them. */
export const MAX_BLOCKS = 50;
export const MAX_SECTION_TEXT = 3000;
export const MAX_FIELDS = 10;
const MAX_FIELD_TEXT = 2000;
export const MAX_HEADER_TEXT = 150;
const MAX_CONTEXT_TEXT = 3000;
const MAX_ALT_TEXT = 2000;
/** chat.update rejects longer `text`; chat.postMessage would truncate — one cap for both. */
export const MAX_MESSAGE_TEXT = 4000;
/** Table rows shown before "… and N more". */
const MAX_TABLE_ROWS = 40;
/** Longest table cell in the monospace rendering. */
const MAX_TABLE_CELL = 40;
/**
 * Slack's `table` block (https://docs.slack.dev/reference/block-kit/blocks/table-block): at most
 * 100 rows including the header, 20 cells a row, non-empty `raw_text` cells, one table per
 * message, always shown at the bottom of the message.
 */
export const MAX_NATIVE_TABLE_ROWS = 100;
export const MAX_NATIVE_TABLE_COLUMNS = 20;
/** Characters over all cells of one table block (Slack's cap for tables in a message). */
export const MAX_NATIVE_TABLE_CHARS = 10_000;
/** Longest cell in a table block (Slack publishes no cap; product names are ≤ 300). */
const MAX_NATIVE_TABLE_CELL = 300;

/** Action ids of the confirm card's buttons; the button value is the pending action id. */
export const CONFIRM_ACTION_ID = 'renderbot.confirm';
export const CANCEL_ACTION_ID = 'renderbot.cancel';

/** A Slack message body: Block Kit blocks plus the plain `text` used for notifications and as fallback. */
export type SlackMessage = { text: string; blocks: slack.KnownBlock[] };

/**
 * Renders a reply as Block Kit (docs/design.md §5). Pure. Every piece of user or product text is
 * escaped (`&`, `<`, `>`) so it cannot form mentions, links or `<!channel>` (docs/design.md §10). The
 * result respects Slack's limits: at most 50 blocks (confirm cards are never cut), section texts
 * ≤ 3000 characters, ≤ 10 fields per section, header ≤ 150, `text` ≤ 4000 and never empty.
 */
export function renderBlockKit(reply: Reply, opts: { suggestions?: 'buttons' | 'omit' } = {}): SlackMessage {
  // Slack shows a table block at the bottom of the message and allows one: only a table that is
  // the reply's last block can be one without changing the reply's order.
  const last = reply.blocks.length - 1;
  const groups = reply.blocks.map((b, i) => ({
    essential: b.type === 'confirm',
    blocks: (b.type === 'table' && i === last && nativeTable(b)) || renderBlock(b),
  }));
  // Next steps are buttons under the answer, unless the thread shows them as its suggested prompts.
  if (opts.suggestions !== 'omit') groups.push({ essential: true, blocks: suggestionButtons(reply.suggestions) });
  // What the turn did stays on its answer, small, above it (the streamed plan is replaced by the answer).
  const steps = reply.steps?.length ? [{ essential: false, blocks: [stepsContext(reply.steps)] }] : [];
  // An agent answer's label, sources and feedback buttons come last and are never cut.
  const extras = reply.answer ? answerBlocks(reply.answer) : [];
  return {
    text: fallbackText(reply),
    blocks: [...fitBlocks([...steps, ...groups], MAX_BLOCKS - extras.length), ...extras],
  };
}

/** A reply's steps as one context block (docs/design.md §12), escaped; within a context element's 3,000 characters. */
function stepsContext(steps: NonNullable<Reply['steps']>): slack.KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: cut(stepsMrkdwn(steps), MAX_SECTION_TEXT) }] };
}

/** The notification/fallback text: the plain-text rendering, escaped and capped. */
export function fallbackText(reply: Reply): string {
  const plain = renderText(reply).trim() || 'RenderBot';
  // Escaping only lengthens the text: what is past the cap before it is past the cap after it.
  return cut(escapeMrkdwn(plain.slice(0, MAX_MESSAGE_TEXT + 1)), MAX_MESSAGE_TEXT);
}

function renderBlock(block: ReplyBlock): slack.KnownBlock[] {
  switch (block.type) {
    case 'text':
      return splitText(toMrkdwn(block.text), MAX_SECTION_TEXT).map(section);
    case 'facts': {
      const title = block.title ? [section(`*${escapeMrkdwn(block.title)}*`)] : [];
      const fields = block.facts.map((f) =>
        cut(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value) || ' '}`, MAX_FIELD_TEXT),
      );
      const chunks: slack.KnownBlock[] = [];
      for (let i = 0; i < fields.length; i += MAX_FIELDS) {
        chunks.push({
          type: 'section',
          fields: fields.slice(i, i + MAX_FIELDS).map((text) => ({ type: 'mrkdwn', text })),
        });
      }
      return [...title, ...chunks];
    }
    case 'table':
      return renderTable(block);
    case 'image':
      return /^https?:\/\//i.test(block.url)
        ? [{ type: 'image', image_url: block.url, alt_text: cut(block.alt || 'image', MAX_ALT_TEXT) }]
        : [section(escapeMrkdwn(`${block.alt}: ${block.url}`))];
    case 'file': {
      // Shown as a link where the file was not uploaded (too large, or delivered outside a thread).
      const name = escapeMrkdwn(block.name);
      const link = /^https?:\/\//i.test(block.url) ? `<${block.url.replaceAll('|', '%7C')}|${name}>` : `*${name}*`;
      return [
        section(
          cut(
            `📎 ${link}\n${escapeMrkdwn(block.description)} · link valid until ${linkExpiry(block.expiresAt)}`,
            MAX_SECTION_TEXT,
          ),
        ),
      ];
    }
    case 'progress':
      return [
        section(
          cut(
            `*${escapeMrkdwn(block.orderNumber)}* · ${escapeMrkdwn(block.status)}\n\`${progressBar(block.ratio)}\` ${percent(block.ratio)} (${escapeMrkdwn(countsText(block.counts) || 'no jobs')})`,
            MAX_SECTION_TEXT,
          ),
        ),
      ];
    case 'confirm':
      return renderConfirm(block);
  }
}

/** Header, the exact steps, then buttons (pending) or the outcome line (resolved). */
function renderConfirm(block: ConfirmBlock): slack.KnownBlock[] {
  const header: slack.KnownBlock = {
    type: 'header',
    text: { type: 'plain_text', text: cut(block.title, MAX_HEADER_TEXT), emoji: false },
  };
  // A one-step plan is titled by its step: its details go right under the header, unnumbered.
  const only = soleStep(block);
  const stepText = only
    ? [...only.details.map((d) => `• ${escapeMrkdwn(d)}`), ...sampleText(only.sample)].join('\n')
    : block.steps
        .map((s, i) =>
          [
            `*${i + 1}. ${escapeMrkdwn(s.title)}*`,
            ...s.details.map((d) => `• ${escapeMrkdwn(d)}`),
            ...sampleText(s.sample),
          ].join('\n'),
        )
        .join('\n\n');
  // Steps share sections (not one each) so a long plan cannot push the buttons past 50 blocks.
  const steps = splitText(stepText || '_No steps._', MAX_SECTION_TEXT)
    .slice(0, 10)
    .map(section);
  if (block.status === 'pending') {
    const expires = Math.floor(new Date(block.expiresAt).getTime() / 1000);
    const fallback = `${block.expiresAt.slice(0, 16).replace('T', ' ')} UTC`;
    return [
      header,
      ...steps,
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `Nothing changes until someone confirms. Expires <!date^${expires}^{date_short_pretty} at {time}|${fallback}>.`,
          },
        ],
      },
      {
        type: 'actions',
        block_id: `renderbot.confirm.${block.actionId}`,
        elements: [
          {
            type: 'button',
            action_id: CONFIRM_ACTION_ID,
            text: { type: 'plain_text', text: 'Confirm' },
            style: 'primary',
            value: block.actionId,
          },
          {
            type: 'button',
            action_id: CANCEL_ACTION_ID,
            text: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
            value: block.actionId,
          },
        ],
      },
    ];
  }
  const icon = {
    executing: ':hourglass_flowing_sand:',
    done: ':white_check_mark:',
    failed: ':x:',
    cancelled: ':no_entry_sign:',
    expired: ':alarm_clock:',
  }[block.status];
  const outcome = escapeMrkdwn(block.outcome ?? block.status).replace(/\bby ([UW][A-Z0-9]{6,})\b/g, 'by <@$1>');
  return [
    header,
    ...steps,
    { type: 'context', elements: [{ type: 'mrkdwn', text: cut(`${icon} ${outcome}`, MAX_CONTEXT_TEXT) }] },
  ];
}

/** A step's sample (a few rows of many) as a small monospace block plus "… and N more". */
function sampleText(sample: PlanStepView['sample']): string[] {
  if (!sample || sample.rows.length === 0) return [];
  const more = sample.total - sample.rows.length;
  return [
    '```' +
      alignedLines(
        sample.columns.map(cell),
        sample.rows.map((r) => r.map(cell)),
      )
        .map(escapeMrkdwn)
        .join('\n') +
      '```',
    ...(more > 0 ? [`_${andMore(more)}_`] : []),
  ];
}

/**
 * A table as Slack's `table` block (raw text cells, never parsed as mrkdwn; numeric columns
 * right-aligned), preceded by its title and, when not every row fits, "First N of M rows".
 * Undefined when the table does not fit a table block (more than 20 columns, or not even one row
 * within the character budget); the caller falls back to the monospace rendering.
 */
function nativeTable(block: TableBlock): slack.KnownBlock[] | undefined {
  const width = block.columns.length;
  if (width === 0 || width > MAX_NATIVE_TABLE_COLUMNS) return undefined;
  const toCells = (values: string[]) => block.columns.map((_, i) => rawText(values[i] ?? ''));
  const rows = [toCells(block.columns)];
  let chars = cellChars(rows[0]!);
  for (const values of block.rows) {
    if (rows.length >= MAX_NATIVE_TABLE_ROWS) break;
    const cells = toCells(values);
    chars += cellChars(cells);
    if (chars > MAX_NATIVE_TABLE_CHARS) break;
    rows.push(cells);
  }
  const shown = rows.length - 1;
  if (shown === 0 && block.rows.length > 0) return undefined;
  const numeric = block.columns.map(
    (_, i) => shown > 0 && rows.slice(1).every((r) => /^[-+]?[\d.,  ]*\d%?$/.test(r[i]!.text)),
  );
  const total = Math.max(block.total, block.rows.length);
  return [
    ...(block.title ? [section(`*${escapeMrkdwn(block.title)}*`)] : []),
    ...(total > shown
      ? [
          {
            type: 'context',
            elements: [{ type: 'mrkdwn', text: `First ${shown} of ${total} rows:` }],
          } satisfies slack.ContextBlock,
        ]
      : []),
    {
      type: 'table',
      rows,
      column_settings: numeric.map((n) => (n ? { is_wrapped: true, align: 'right' as const } : { is_wrapped: true })),
    },
  ];
}

/** A table-block cell: one line, capped, never empty (Slack requires at least one character). */
function rawText(value: string): slack.RawTextElement {
  return { type: 'raw_text', text: ellipsize(oneLine(value).trim(), MAX_NATIVE_TABLE_CELL) || ' ' };
}

function cellChars(cells: slack.RawTextElement[]): number {
  return cells.reduce((n, c) => n + c.text.length, 0);
}

/** A table as a monospace code block (the fallback for tables a table block cannot show), split over sections. */
function renderTable(block: TableBlock): slack.KnownBlock[] {
  const shown = block.rows.slice(0, MAX_TABLE_ROWS).map((r) => r.map(cell));
  const lines = alignedLines(block.columns.map(cell), shown, '─').map(escapeMrkdwn);
  const out: slack.KnownBlock[] = block.title ? [section(`*${escapeMrkdwn(block.title)}*`)] : [];
  let chunk: string[] = [];
  const flush = () => {
    if (chunk.length) out.push(section('```' + chunk.join('\n') + '```'));
    chunk = [];
  };
  for (const l of lines) {
    const fitted = cut(l, MAX_SECTION_TEXT - 6);
    if (chunk.join('\n').length + fitted.length + 1 > MAX_SECTION_TEXT - 6) flush();
    chunk.push(fitted);
  }
  flush();
  const more = hiddenRows(block, shown.length);
  if (more > 0) out.push({ type: 'context', elements: [{ type: 'mrkdwn', text: andMore(more) }] });
  return out;
}

/** Cells are single-line, cut, and cannot close the code block. */
function cell(value: string): string {
  return ellipsize(oneLine(value).replace(/`/g, 'ˋ'), MAX_TABLE_CELL);
}

/** Keeps every essential group (confirm cards); cuts other blocks with a note where they were cut, when over 50. */
function fitBlocks(
  groups: { essential: boolean; blocks: slack.KnownBlock[] }[],
  max: number = MAX_BLOCKS,
): slack.KnownBlock[] {
  const total = groups.reduce((n, g) => n + g.blocks.length, 0);
  if (total <= max) return groups.flatMap((g) => g.blocks);
  const reserved = groups.filter((g) => g.essential).reduce((n, g) => n + g.blocks.length, 0);
  let budget = max - 1 - reserved;
  let dropped = 0;
  let noteAt = -1;
  const out: slack.KnownBlock[] = [];
  for (const g of groups) {
    if (g.essential) {
      out.push(...g.blocks);
      continue;
    }
    const take = Math.max(0, Math.min(budget, g.blocks.length));
    out.push(...g.blocks.slice(0, take));
    if (take < g.blocks.length && noteAt < 0) noteAt = out.length;
    dropped += g.blocks.length - take;
    budget -= take;
  }
  const note: slack.KnownBlock = {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `… ${dropped} more block${dropped === 1 ? '' : 's'} not shown (Slack shows at most ${MAX_BLOCKS}). Ask for a narrower result.`,
      },
    ],
  };
  out.splice(noteAt < 0 ? out.length : noteAt, 0, note);
  return out.slice(0, max);
}

function section(text: string): slack.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

/** Splits at paragraph, then line, then word boundaries so that each piece is ≤ max. */
export function splitText(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    const window = rest.slice(0, max);
    let at = window.lastIndexOf('\n\n');
    if (at < max / 2) at = window.lastIndexOf('\n');
    if (at < max / 2) at = window.lastIndexOf(' ');
    // Never split inside an escape sequence like &amp;
    if (at < max / 2) {
      at = max;
      const amp = window.lastIndexOf('&');
      if (amp > max - 6 && !window.slice(amp).includes(';')) at = amp;
    }
    pieces.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  if (rest.length) pieces.push(rest);
  return pieces.length ? pieces : [' '];
}

/** Cuts to `max` characters with an ellipsis, never inside an escape sequence. */
function cut(text: string, max: number): string {
  return ellipsize(text, max, (head) => {
    const amp = head.lastIndexOf('&');
    return amp >= 0 && amp > head.length - 6 && !head.slice(amp).includes(';') ? head.slice(0, amp) : head;
  });
}
