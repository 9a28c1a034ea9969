import type { types as slack } from '@slack/bolt';
import type { AnswerMeta, Source } from '../../core/replies/reply.ts';
import { escapeMrkdwn } from './mrkdwn.ts';

/** Action id of an agent answer's 👍/👎 (`feedback_buttons`); each button's value is `<rating>:<answer id>`. */
export const FEEDBACK_ACTION_ID = 'renderbot.feedback';
/** Slack's cap on a context block's mrkdwn text. */
const MAX_CONTEXT_TEXT = 3000;

/** The value a feedback button carries and the rating and answer id it stands for. */
function feedbackValue(rating: 'up' | 'down', answerId: string): string {
  return `${rating}:${answerId}`;
}

/** Rating and answer id of a feedback button's value; undefined when it is not one. */
export function parseFeedbackValue(value: string | undefined): { rating: 'up' | 'down'; answerId: string } | undefined {
  const m = /^(up|down):([0-9a-f-]{36})$/.exec(value ?? '');
  return m ? { rating: m[1] as 'up' | 'down', answerId: m[2]! } : undefined;
}

/**
 * What an agent answer shows under its content (docs/design.md §12): a context line marking it
 * AI-generated with the records it used ("Sources: SA-2026-00160 · 3,074 products in Kugellager",
 * orders linked to their results pages), then a `context_actions` block with `feedback_buttons`.
 * Pure; sources are tenant data and escaped.
 */
export function answerBlocks(answer: AnswerMeta): slack.KnownBlock[] {
  const sources = answer.sources.map(sourceText);
  let line = `:sparkles: AI-generated answer — check important details.${sources.length ? ` Sources: ${sources.join(' · ')}` : ''}`;
  if (line.length > MAX_CONTEXT_TEXT) line = `${line.slice(0, MAX_CONTEXT_TEXT - 1)}…`;
  return [
    { type: 'context', elements: [{ type: 'mrkdwn', text: line }] },
    {
      type: 'context_actions',
      block_id: `renderbot.feedback.${answer.id}`,
      elements: [
        {
          type: 'feedback_buttons',
          action_id: FEEDBACK_ACTION_ID,
          positive_button: {
            text: { type: 'plain_text', text: '👍' },
            value: feedbackValue('up', answer.id),
            accessibility_label: 'This answer was helpful',
          },
          negative_button: {
            text: { type: 'plain_text', text: '👎' },
            value: feedbackValue('down', answer.id),
            accessibility_label: 'This answer was not helpful',
          },
        },
      ],
    },
  ];
}

/** One source as mrkdwn: an order linked to its results page (when signed links exist), or a count. */
function sourceText(s: Source): string {
  if (s.kind === 'count') return escapeMrkdwn(`${s.count.toLocaleString('en-US')} ${s.what}`);
  const number = escapeMrkdwn(s.number);
  // A URL cannot contain `|` or `>` unescaped inside <url|label>; signed links never do, others are shown plain.
  return s.url && /^https?:\/\/[^\s|<>]+$/.test(s.url) ? `<${s.url}|${number}>` : number;
}
