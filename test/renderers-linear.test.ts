import { describe, expect, it } from 'vitest';
import { escapeMrkdwn, fallbackText, renderBlockKit, toMrkdwn } from '../adapters/slack/render.ts';
import { messageText } from '../adapters/slack/session.ts';
import { cleanText } from '../adapters/teams/activity.ts';
import { escapeCardText, renderAdaptiveCard, renderTeamsMessage } from '../adapters/teams/render.ts';
import { turnResult } from '../adapters/web/present.ts';
import { subjectMessage, noteMessage, summaryMessage, workspaceMessage } from '../core/agent/data-messages.ts';
import { parseCommand } from '../core/commands/grammar.ts';
import type { Reply } from '../core/replies/reply.ts';
import { renderText } from '../core/replies/text.ts';

/**
 * Every renderer and parser that sees model output, product names or user messages must be
 * linear: 200,000 characters of a pathological pattern take a linear scan a few milliseconds
 * and quadratic code many seconds, so the 100 ms bound is far from both. Each input is first
 * tried at 20,000 characters, where quadratic code mostly misses the bound already, so a
 * regression fails there instead of spending minutes on the larger input. Functions get the
 * input whole; reply renderers get it spread over every text field of a reply, and whole in a
 * title and a cell.
 */
const SIZES = [20_000, 200_000];
const BOUND_MS = 100;

/** Repetitions of the patterns quadratic regexes and scanners stumble over, with mixes of them. */
const PATTERNS = [
  '[',
  ']',
  '(',
  '*',
  '_',
  '`',
  '<',
  '>',
  '&',
  '|',
  '#',
  '\n',
  ' \n',
  '\t',
  '](',
  '[a](',
  '[x](',
  '[x](https://',
  '[a](http://x ',
  '[a]',
  '[`',
  '`a',
  '```',
  '```\n',
  '**',
  '__',
  '***',
  '**a',
  '__a',
  '# ',
  '#\n',
  '## **',
  '\n- ',
  '\n  - ',
  '\n    1. ',
  '| a ',
  '|---',
  '1',
  '1.',
  '<@',
  '<@U1|',
  '<#C1|',
  '<!here',
  '<http://',
  '<https://a|',
  '<mailto:',
  '<at>',
  '&nbsp;',
  '&lt;',
  '{{',
  '\\',
  ' category:"',
  'category:',
  '<summary ',
];

/** The fields of a reply that carry model or product text. */
const REPLY_FIELDS = 16;

/**
 * A reply whose text fields share `text` (the whole input, not once per field): the text block,
 * titles, labels, values, cells, column names, image, progress, plan steps and outcome.
 */
function everywhere(text: string): Reply {
  const part = (i: number) =>
    text.slice(Math.floor((i * text.length) / REPLY_FIELDS), Math.floor(((i + 1) * text.length) / REPLY_FIELDS));
  return {
    blocks: [
      { type: 'text', text: part(0) },
      { type: 'facts', title: part(1), facts: [{ label: part(2), value: part(3) }] },
      {
        type: 'table',
        title: part(4),
        columns: [part(5), 'n'],
        rows: [
          [part(6), '1'],
          ['x', part(7)],
        ],
        total: 2,
        truncated: false,
      },
      { type: 'image', url: part(8), alt: part(9) },
      {
        type: 'progress',
        orderNumber: 'SA-2026-00001',
        status: part(10),
        total: 1,
        counts: { [part(11)]: 1 },
        ratio: 0.5,
      },
      {
        type: 'confirm',
        actionId: '6f1c2b1e-8c1d-4a51-9a3e-2a4f6a1b9c01',
        title: part(12),
        status: 'done',
        outcome: part(13),
        expiresAt: '2026-11-25T12:15:00.000Z',
        steps: [
          { title: part(14), details: [part(15)], sample: { columns: ['c'], rows: [[part(15)]], total: 3 } },
          { title: 'b', details: [] },
        ],
      },
    ],
  };
}

const SUBJECTS: [string, (text: string) => unknown][] = [
  ['slack toMrkdwn', toMrkdwn],
  ['slack escapeMrkdwn (product names, streamed text)', escapeMrkdwn],
  ['slack renderBlockKit (text)', (t) => renderBlockKit({ blocks: [{ type: 'text', text: t }] })],
  ['slack renderBlockKit (every block)', (t) => renderBlockKit(everywhere(t))],
  [
    'slack renderBlockKit (one title, one cell)',
    (t) =>
      renderBlockKit({
        blocks: [{ type: 'table', title: t, columns: ['a'], rows: [[t]], total: 1, truncated: false }],
      }),
  ],
  ['slack fallbackText', (t) => fallbackText(everywhere(t))],
  ['slack messageText', (t) => messageText(t)],
  ['slack messageText (bot mention)', (t) => messageText(`<@U0BOT00001> ${t}`, 'U0BOT00001')],
  ['teams renderTeamsMessage (text)', (t) => renderTeamsMessage({ blocks: [{ type: 'text', text: t }] })],
  ['teams renderAdaptiveCard (every block)', (t) => renderAdaptiveCard(everywhere(t))],
  [
    'teams renderAdaptiveCard (one title, one cell)',
    (t) =>
      renderAdaptiveCard({
        blocks: [{ type: 'table', title: t, columns: ['a'], rows: [[t]], total: 1, truncated: false }],
      }),
  ],
  ['teams escapeCardText', escapeCardText],
  ['teams cleanText', cleanText],
  ['text renderText (every block)', (t) => renderText(everywhere(t))],
  ['web turnResult', (t) => turnResult(t, [everywhere(t)], [], new Date(0))],
  [
    'commands parseCommand',
    (t) => [parseCommand(t), parseCommand(`search ${t}`), parseCommand(`order ${t}`), parseCommand(`link ${t}`)],
  ],
  ['agent summaryMessage', summaryMessage],
  ['agent subjectMessage', subjectMessage],
  ['agent noteMessage', noteMessage],
  ['agent workspaceMessage', workspaceMessage],
];

/**
 * Milliseconds of CPU this process spent on one call (user + system: the call runs synchronously,
 * so that is the call's own cost, not the time other processes on a busy machine took from it);
 * a slow result is measured twice more, keeping the fastest.
 */
function timed(run: () => unknown): number {
  let best = Infinity;
  for (let attempt = 0; attempt < 3 && best >= BOUND_MS; attempt++) {
    const started = process.cpuUsage();
    run();
    const spent = process.cpuUsage(started);
    best = Math.min(best, (spent.user + spent.system) / 1000);
  }
  return best;
}

describe('renderers and parsers stay linear on pathological input', () => {
  it.each(SUBJECTS)(
    '%s',
    (_name, render) => {
      const slow: string[] = [];
      for (const pattern of PATTERNS) {
        for (const size of SIZES) {
          const input = pattern.repeat(Math.ceil(size / pattern.length)).slice(0, size);
          const ms = timed(() => render(input));
          if (ms >= BOUND_MS) {
            slow.push(`${JSON.stringify(pattern)} × ${size}: ${Math.round(ms)} ms`);
            break;
          }
        }
      }
      expect(slow).toEqual([]);
    },
    120_000,
  );
});
