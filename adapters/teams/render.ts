import {
  soleStep,
  type ConfirmBlock,
  type PlanStepView,
  type Reply,
  type ReplyBlock,
  type TableBlock,
} from '../../core/replies/reply.ts';
import {
  andMore,
  ellipsize,
  hiddenRows,
  linkExpiry,
  percent,
  progressBar,
  sampleTable,
} from '../../core/replies/format.ts';
import { renderText } from '../../core/replies/text.ts';
import type { OutgoingMessage } from './activity.ts';
import { suggestedActions, suggestionActionSet, type TeamsScope } from './suggestions.ts';
import { answerActivityParts } from './answer.ts';

/** Adaptive Card schema version Teams needs for Action.Execute and refresh (Universal Actions). */
export const ADAPTIVE_CARD_VERSION = '1.5';
/** Teams rejects messages above about 28 KB (docs/design.md §10); the whole activity must stay below. */
export const TEAMS_MESSAGE_MAX_BYTES = 28 * 1024;
/** Budget for the card itself, leaving room for the envelope and the text fallback. */
export const CARD_MAX_BYTES = 24 * 1024;
/** Longest plain-text fallback (card `fallbackText`, activity `summary`/`text`). */
const FALLBACK_TEXT_MAX = 2000;
/** Most table rows shown before "… and N more"; fewer when the card would exceed its budget. */
const CARD_TABLE_MAX_ROWS = 50;
/** Sample rows shown per confirmation step (e.g. 5 of 60,000 products). */
const CONFIRM_SAMPLE_ROWS = 5;
/** Longest table cell / fact value shown. */
const CARD_CELL_MAX = 200;
/** Longest text block shown. */
const CARD_TEXT_MAX = 6000;
/** Content type of Adaptive Card attachments and of `adaptiveCard/action` responses. */
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** Verbs of RenderBot's Action.Execute buttons; an Action.Execute without a verb never reaches the bot. */
export const VERBS = {
  confirm: 'renderbot.confirm',
  cancel: 'renderbot.cancel',
  refresh: 'renderbot.refresh',
} as const;

/** A JSON Adaptive Card element/card. */
type CardElement = Record<string, unknown>;
/** An Adaptive Card 1.5 (`type: AdaptiveCard`). */
export type AdaptiveCard = {
  type: 'AdaptiveCard';
  $schema: string;
  version: string;
  body: CardElement[];
  fallbackText?: string;
  refresh?: CardElement;
};

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

/**
 * A list marker at the start of a line, after its indentation. The indentation is whitespace
 * other than line breaks, so a match attempt stays on its line (with `\s*` it ran over every
 * following blank line, from every line start: quadratic).
 */
const LIST_MARKER = /^([^\S\r\n\u2028\u2029]*)([-+]|\d+\.)(\s)/gm;

/**
 * Text written by others (product names, notes, cells) as inert card text: markdown syntax and
 * Adaptive Card `{{DATE()}}`/`{{TIME()}}` functions are escaped, control characters dropped.
 */
export function escapeCardText(value: string): string {
  return neutralizeFunctions(
    value
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
      // Only what the Adaptive Card markdown subset acts on: emphasis, links, list markers.
      .replace(/([\\*_[\]])/g, '\\$1')
      .replace(LIST_MARKER, '$1\\$2$3'),
  );
}

/**
 * Text written by others as inert card text (`escapeCardText`), cut to `max` characters first:
 * titles and outcomes to the longest text block, so no field costs more than a card can show.
 */
function inert(value: string, max: number = CARD_TEXT_MAX): string {
  return escapeCardText(ellipsize(value, max));
}

/** Model-written markdown keeps its formatting; only card text functions are neutralised. */
function neutralizeFunctions(value: string): string {
  return value.replace(/\{\{/g, '{\u200b{');
}

const textBlock = (text: string, extra: CardElement = {}): CardElement => ({
  type: 'TextBlock',
  text,
  wrap: true,
  ...extra,
});

function renderTable(block: TableBlock, maxRows: number): CardElement[] {
  const shown = block.rows.slice(0, maxRows);
  const header = {
    type: 'TableRow',
    style: 'accent',
    cells: block.columns.map((c) => ({
      type: 'TableCell',
      items: [textBlock(inert(c, CARD_CELL_MAX), { weight: 'Bolder' })],
    })),
  };
  const rows = shown.map((r) => ({
    type: 'TableRow',
    cells: block.columns.map((_, i) => ({ type: 'TableCell', items: [textBlock(inert(r[i] ?? '', CARD_CELL_MAX))] })),
  }));
  const out: CardElement[] = [];
  if (block.title) out.push(textBlock(inert(block.title), { weight: 'Bolder' }));
  if (block.columns.length > 0) {
    out.push({
      type: 'Table',
      columns: block.columns.map(() => ({ type: 'TableColumnDefinition', width: 1 })),
      rows: [header, ...rows],
      firstRowAsHeader: true,
      showGridLines: true,
    });
  }
  const more = hiddenRows(block, shown.length);
  if (more > 0) out.push(textBlock(andMore(more), { isSubtle: true, spacing: 'Small' }));
  return out;
}

function renderConfirm(block: ConfirmBlock): CardElement {
  const items: CardElement[] = [textBlock(inert(block.title), { weight: 'Bolder', size: 'Medium' })];
  const details = (s: PlanStepView) => {
    if (s.details.length)
      items.push(textBlock(s.details.map((d) => `- ${inert(d, CARD_CELL_MAX * 2)}`).join('\r'), { spacing: 'None' }));
    if (s.sample && s.sample.rows.length) {
      items.push(...renderTable(sampleTable(s.sample), CONFIRM_SAMPLE_ROWS));
    }
  };
  // A one-step plan is titled by its step: its details go right under the title, unnumbered.
  const only = soleStep(block);
  if (only) details(only);
  else
    block.steps.forEach((s, i) => {
      items.push(textBlock(`${i + 1}. ${inert(s.title)}`, { weight: 'Bolder', spacing: 'Small' }));
      details(s);
    });
  if (block.status === 'pending') {
    items.push(
      textBlock(`Waiting for confirmation; expires ${block.expiresAt.slice(0, 16).replace('T', ' ')} UTC.`, {
        isSubtle: true,
        size: 'Small',
      }),
    );
    items.push({
      type: 'ActionSet',
      actions: [
        {
          type: 'Action.Execute',
          title: 'Confirm',
          verb: VERBS.confirm,
          data: { actionId: block.actionId },
          style: 'positive',
        },
        {
          type: 'Action.Execute',
          title: 'Cancel',
          verb: VERBS.cancel,
          data: { actionId: block.actionId },
          style: 'destructive',
        },
      ],
    });
  } else {
    const color = block.status === 'done' ? 'Good' : block.status === 'executing' ? 'Accent' : 'Attention';
    items.push(textBlock(inert(block.outcome ?? `Status: ${block.status}`), { color, weight: 'Bolder' }));
  }
  return { type: 'Container', style: 'emphasis', items };
}

function renderBlock(block: ReplyBlock, maxRows: number): CardElement[] {
  switch (block.type) {
    case 'text':
      return block.text.trim() ? [textBlock(neutralizeFunctions(ellipsize(block.text, CARD_TEXT_MAX)))] : [];
    case 'facts':
      return [
        ...(block.title ? [textBlock(inert(block.title), { weight: 'Bolder' })] : []),
        {
          type: 'FactSet',
          facts: block.facts.map((f) => ({
            title: inert(f.label, CARD_CELL_MAX),
            value: inert(f.value, CARD_CELL_MAX),
          })),
        },
      ];
    case 'table':
      return renderTable(block, maxRows);
    case 'image':
      return /^https:\/\/[^\s]+$/i.test(block.url)
        ? [{ type: 'Image', url: block.url, altText: ellipsize(block.alt, CARD_CELL_MAX) }]
        : [textBlock(inert(`${block.alt}: ${block.url}`))];
    case 'file': {
      // A channel or group chat gets the signed link (a bot cannot send files there); personal chats get a consent card instead.
      const name = inert(block.name, CARD_CELL_MAX);
      const link = /^https:\/\/[^\s()]+$/i.test(block.url) ? `[📎 ${name}](${block.url})` : `📎 ${name}`;
      return [
        textBlock(link, { weight: 'Bolder' }),
        textBlock(`${inert(block.description, CARD_CELL_MAX)} · link valid until ${linkExpiry(block.expiresAt)}`, {
          isSubtle: true,
          spacing: 'Small',
        }),
      ];
    }
    case 'progress': {
      const counts = Object.entries(block.counts).filter(([, n]) => n > 0);
      return [
        textBlock(`${inert(block.orderNumber, CARD_CELL_MAX)} — ${inert(block.status, CARD_CELL_MAX)}`, {
          weight: 'Bolder',
        }),
        textBlock(`${progressBar(block.ratio)} ${percent(block.ratio)} of ${block.total} jobs`, {
          fontType: 'Monospace',
          spacing: 'Small',
        }),
        ...(counts.length
          ? [{ type: 'FactSet', facts: counts.map(([s, n]) => ({ title: inert(s, CARD_CELL_MAX), value: String(n) })) }]
          : []),
      ];
    }
    case 'confirm':
      return [renderConfirm(block)];
  }
}

/** Consecutive images become one ImageSet: thumbnails side by side instead of full-width pictures one under another. */
function groupImages(elements: CardElement[]): CardElement[] {
  const out: CardElement[] = [];
  for (const e of elements) {
    const prev = out.at(-1);
    if (e.type !== 'Image' || !prev) out.push(e);
    else if (prev.type === 'ImageSet') (prev.images as CardElement[]).push(e);
    else if (prev.type === 'Image') out[out.length - 1] = { type: 'ImageSet', imageSize: 'Medium', images: [prev, e] };
    else out.push(e);
  }
  return out;
}

function build(
  reply: Reply,
  maxRows: number,
  fallbackText = ellipsize(renderText(reply), FALLBACK_TEXT_MAX),
  buttons = false,
): AdaptiveCard {
  const body = [
    ...groupImages(reply.blocks.flatMap((b) => renderBlock(b, maxRows))),
    ...(buttons ? suggestionActionSet(reply.suggestions, neutralizeFunctions) : []),
  ];
  const confirm = reply.blocks.find(
    (b): b is ConfirmBlock => b.type === 'confirm' && (b.status === 'pending' || b.status === 'executing'),
  );
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: ADAPTIVE_CARD_VERSION,
    body: body.length ? body : [textBlock('(empty reply)', { isSubtle: true })],
    fallbackText,
    // No userIds: Teams refreshes automatically for everyone in conversations of up to 60 people
    // and offers "Refresh card" in larger ones.
    ...(confirm
      ? {
          refresh: {
            action: {
              type: 'Action.Execute',
              title: 'Refresh',
              verb: VERBS.refresh,
              data: { actionId: confirm.actionId },
            },
          },
        }
      : {}),
  };
}

/**
 * Renders a reply as an Adaptive Card 1.5 (pure). Tables are cut to fit `CARD_MAX_BYTES` with
 * "… and N more"; a card that still does not fit becomes its truncated plain text.
 */
export function renderAdaptiveCard(reply: Reply, opts: { suggestionButtons?: boolean } = {}): AdaptiveCard {
  const plain = renderText(reply);
  const fallbackText = ellipsize(plain, FALLBACK_TEXT_MAX);
  const longest = Math.max(0, ...reply.blocks.map((b) => (b.type === 'table' ? b.rows.length : 0)));
  for (let rows = Math.min(longest, CARD_TABLE_MAX_ROWS); ; rows = Math.floor(rows / 2)) {
    const card = build(reply, rows, fallbackText, opts.suggestionButtons);
    if (bytes(card) <= CARD_MAX_BYTES) return card;
    if (rows === 0) break;
  }
  const text = ellipsize(plain, CARD_TEXT_MAX);
  const confirm = reply.blocks.filter((b): b is ConfirmBlock => b.type === 'confirm');
  return build(
    {
      blocks: [
        { type: 'text', text: `${inert(text, 3000)}\n\n(The full answer was too large for a Teams card.)` },
        ...confirm.map((c) => ({
          ...c,
          steps: c.steps.slice(0, 5).map((s) => ({ title: s.title, details: s.details.slice(0, 5) })),
        })),
      ],
    },
    0,
  );
}

/**
 * Cuts a text message (with its "…") until the activity fits `TEAMS_MESSAGE_MAX_BYTES`: text of
 * `CARD_TEXT_MAX` characters can still be larger, as JSON writes a control character in 6 bytes.
 * A card message needs no cut: the card keeps to `CARD_MAX_BYTES` and its summary to 200 characters.
 */
function withinMessageBytes(message: OutgoingMessage & { text: string }): OutgoingMessage {
  let fitted = message;
  for (let over = bytes(fitted) - TEAMS_MESSAGE_MAX_BYTES; over > 0; over = bytes(fitted) - TEAMS_MESSAGE_MAX_BYTES) {
    // A character costs at most 6 bytes, so this always cuts, and never more than needed at once.
    fitted = { ...fitted, text: ellipsize(fitted.text, fitted.text.length - Math.ceil(over / 6) - 1) };
  }
  return fitted;
}

/**
 * The Teams message for a reply. Text-only replies are plain markdown messages. Anything else is
 * a card; its plain-text fallback goes into the card's `fallbackText` and the activity's
 * `summary` (notifications, clients without cards) — not into `text`, which Teams would show
 * above the card as a duplicate.
 */
export function renderTeamsMessage(reply: Reply, opts: { scope?: TeamsScope } = {}): OutgoingMessage {
  const plain = renderText(reply);
  const suggestions = reply.suggestions ?? [];
  // Next steps: suggested actions in a personal chat; elsewhere card buttons, so the reply is a card.
  const personal = opts.scope === 'personal';
  const next = personal && suggestions.length ? { suggestedActions: suggestedActions(suggestions) } : {};
  const extras = reply.answer ? answerActivityParts(reply.answer, escapeCardText) : undefined;
  const labelled = extras ? { entities: [extras.entity], channelData: extras.channelData } : {};
  if (reply.blocks.every((b) => b.type === 'text') && (personal || !suggestions.length)) {
    const text = neutralizeFunctions(ellipsize(plain, CARD_TEXT_MAX)) || '(empty reply)';
    return withinMessageBytes({
      type: 'message',
      textFormat: 'markdown',
      text: extras?.sourcesLine ? `${text}\n\n${extras.sourcesLine}` : text,
      ...labelled,
      ...next,
    });
  }
  const fallback = ellipsize(plain, FALLBACK_TEXT_MAX);
  return {
    type: 'message',
    summary: ellipsize(fallback.split('\n')[0] ?? '', 200),
    // The citations' `[n]` markers must stand in the message text; the card carries the answer.
    ...(extras?.sourcesLine ? { textFormat: 'markdown' as const, text: extras.sourcesLine } : {}),
    attachments: [
      { contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: renderAdaptiveCard(reply, { suggestionButtons: !personal }) },
    ],
    ...labelled,
    ...next,
  };
}
