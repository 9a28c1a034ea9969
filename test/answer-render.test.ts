import { describe, expect, it } from 'vitest';
import { renderBlockKit, MAX_BLOCKS } from '../adapters/slack/render.ts';
import { answerBlocks, parseFeedbackValue } from '../adapters/slack/answer.ts';
import { renderTeamsMessage } from '../adapters/teams/render.ts';
import { answerSources } from '../core/agent/answer-sources.ts';
import { createRenderLinks } from '../core/renders/signing.ts';
import type { Reply } from '../core/replies/reply.ts';

const id = '0b6f1c2e-9a4d-4c1b-8e7f-3d2a1b0c9e8f';
const answer: Reply = {
  blocks: [{ type: 'text', text: 'SA-2026-00160 is rendering.' }],
  answer: {
    id,
    sources: [
      { kind: 'order', number: 'SA-2026-00160', url: 'https://rb.example/orders/o1/results?exp=1&sig=ab' },
      { kind: 'count', count: 3074, what: 'products in category <Kugel&lager>' },
    ],
  },
};

describe('an agent answer as Block Kit', () => {
  it('ends with the label-and-sources context line and the feedback buttons, escaped', () => {
    expect(renderBlockKit(answer).blocks.slice(-2)).toEqual([
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: ':sparkles: AI-generated answer — check important details. Sources: <https://rb.example/orders/o1/results?exp=1&sig=ab|SA-2026-00160> · 3,074 products in category &lt;Kugel&amp;lager&gt;',
          },
        ],
      },
      {
        type: 'context_actions',
        block_id: `renderbot.feedback.${id}`,
        elements: [
          {
            type: 'feedback_buttons',
            action_id: 'renderbot.feedback',
            positive_button: {
              text: { type: 'plain_text', text: '👍' },
              value: `up:${id}`,
              accessibility_label: 'This answer was helpful',
            },
            negative_button: {
              text: { type: 'plain_text', text: '👎' },
              value: `down:${id}`,
              accessibility_label: 'This answer was not helpful',
            },
          },
        ],
      },
    ]);
  });

  it('keeps label and buttons when the content is cut at 50 blocks', () => {
    const long: Reply = {
      ...answer,
      blocks: Array.from({ length: 80 }, (_, i) => ({ type: 'text' as const, text: `paragraph ${i}` })),
    };
    const blocks = renderBlockKit(long).blocks;
    expect(blocks).toHaveLength(MAX_BLOCKS);
    expect(blocks.at(-1)!.type).toBe('context_actions');
  });

  it('command output has neither', () => {
    expect(renderBlockKit({ blocks: answer.blocks }).blocks.map((b) => b.type)).toEqual(['section']);
  });

  it('reads back only values it wrote', () => {
    expect(parseFeedbackValue(`down:${id}`)).toEqual({ rating: 'down', answerId: id });
    expect(parseFeedbackValue('sideways:x')).toBeUndefined();
    expect(
      answerBlocks({ id, sources: [{ kind: 'order', number: 'SA-1', url: 'javascript:alert(1)' }] })[0],
    ).toMatchObject({ elements: [{ text: expect.stringMatching(/Sources: SA-1$/) }] });
  });
});

describe('an agent answer for Teams', () => {
  it('carries the AI entity with citations, the sources line and the custom feedback loop', () => {
    const m = renderTeamsMessage(answer);
    expect(m.text).toBe(
      'SA-2026-00160 is rendering.\n\nSources: Order SA-2026-00160 [1] · 3,074 products in category <Kugel&lager> [2]',
    );
    expect(m.channelData).toEqual({ feedbackLoop: { type: 'custom' } });
    expect(m.entities).toEqual([
      {
        type: 'https://schema.org/Message',
        '@type': 'Message',
        '@context': 'https://schema.org',
        '@id': '',
        additionalType: ['AIGeneratedContent'],
        citation: [
          {
            '@type': 'Claim',
            position: 1,
            appearance: {
              '@type': 'DigitalDocument',
              name: 'Order SA-2026-00160',
              abstract: 'The render results page of order SA-2026-00160.',
              url: 'https://rb.example/orders/o1/results?exp=1&sig=ab',
            },
          },
          {
            '@type': 'Claim',
            position: 2,
            appearance: {
              '@type': 'DigitalDocument',
              name: '3,074 products in category <Kugel&lager>',
              abstract: 'The count RenderBot read from the catalogue: 3,074 products in category <Kugel&lager>.',
            },
          },
        ],
      },
    ]);
  });

  it('command output has no label', () => {
    const m = renderTeamsMessage({ blocks: answer.blocks });
    expect(m.entities).toBeUndefined();
    expect(m.channelData).toBeUndefined();
  });
});

describe('answer sources', () => {
  it('cites each order once with its signed results page, then the counts, capped', () => {
    const links = createRenderLinks(Buffer.alloc(32, 7), 'https://rb.example');
    const now = new Date('2026-12-06T00:00:00Z');
    const sources = answerSources(
      [
        { orders: [{ id: 'o1', number: 'SA-1' }], counts: [{ count: 2, what: 'orders' }] },
        {
          orders: [
            { id: 'o1', number: 'SA-1' },
            ...Array.from({ length: 10 }, (_, i) => ({ id: `x${i}`, number: `SA-X${i}` })),
          ],
        },
      ],
      links,
      now,
    );
    expect(sources.filter((s) => s.kind === 'order')).toHaveLength(8);
    expect(sources[0]).toEqual({ kind: 'order', number: 'SA-1', url: links.signedResultsUrl('o1', undefined, now) });
    expect(sources.at(-1)).toEqual({ kind: 'count', count: 2, what: 'orders' });
    expect(answerSources([{ orders: [{ id: 'o1', number: 'SA-1' }] }], undefined, now)).toEqual([
      { kind: 'order', number: 'SA-1' },
    ]);
  });
});
