import { describe, expect, it } from 'vitest';
import type { Reply } from '../core/replies/reply.ts';
import { bigConfirm } from './support/previews.ts';
import {
  CARD_MAX_BYTES,
  escapeCardText,
  renderAdaptiveCard,
  renderTeamsMessage,
  TEAMS_MESSAGE_MAX_BYTES,
  VERBS,
} from '../adapters/teams/render.ts';
import { cardObjectModelProblems, cardSchemaProblems } from './support/adaptive-card.ts';

const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

const actionId = '4f1c2e3d-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const confirm = (status: 'pending' | 'done' | 'cancelled' | 'expired', outcome?: string): Reply['blocks'][number] => ({
  type: 'confirm',
  actionId,
  title: 'Create order: 3 products as WebP 1024x1024',
  status,
  expiresAt: '2026-11-26T09:30:00.000Z',
  steps: [
    {
      title: 'Create and submit an order',
      details: ['Products: ACME Rillenkugellager 6204, 6205, 6206 2RS', 'Output: WebP 1024x1024'],
    },
  ],
  ...(outcome ? { outcome } : {}),
});
const table = (n: number, cell = 'Rillenkugellager 6204'): Reply['blocks'][number] => ({
  type: 'table',
  title: 'Products',
  columns: ['PIM id', 'Name', 'Category', 'Material'],
  rows: Array.from({ length: n }, (_, i) => [`KL-${i}`, `${cell} #${i}`, 'Kugellager', 'Steel-Bare']),
  total: n,
  truncated: false,
});

const cases: { name: string; reply: Reply }[] = [
  { name: 'text', reply: { blocks: [{ type: 'text', text: 'Hello **there**' }] } },
  {
    name: 'facts',
    reply: {
      blocks: [
        {
          type: 'facts',
          title: 'Order SA-2026-00160',
          facts: [
            { label: 'Status', value: 'rendering' },
            { label: 'Jobs', value: '3' },
          ],
        },
      ],
    },
  },
  { name: 'small table', reply: { blocks: [table(3)] } },
  { name: '200-row table', reply: { blocks: [{ type: 'text', text: 'All products:' }, table(200)] } },
  { name: '200 rows of long cells', reply: { blocks: [table(200, 'x'.repeat(500))] } },
  {
    name: 'truncated table (total > rows)',
    reply: { blocks: [{ ...table(10), total: 240, truncated: true } as Reply['blocks'][number]] },
  },
  {
    name: 'image',
    reply: { blocks: [{ type: 'image', url: 'https://cdn.example.com/renders/kl-6204.webp', alt: 'KL 6204' }] },
  },
  { name: 'non-https image', reply: { blocks: [{ type: 'image', url: 'javascript:alert(1)', alt: 'bad' }] } },
  {
    name: 'progress',
    reply: {
      blocks: [
        {
          type: 'progress',
          orderNumber: 'SA-2026-00160',
          status: 'rendering',
          total: 3,
          counts: { completed: 1, queued: 2, failed: 0 },
          ratio: 0.33,
        },
      ],
    },
  },
  { name: 'confirm pending', reply: { blocks: [{ type: 'text', text: 'Please confirm:' }, confirm('pending')] } },
  {
    name: 'confirm done',
    reply: {
      blocks: [confirm('done', 'Confirmed by Anna at 2026-11-26 09:16 UTC: Created order SA-2026-00160 with 3 jobs')],
    },
  },
  { name: 'confirm cancelled', reply: { blocks: [confirm('cancelled', 'Cancelled by Bob. Nothing was changed.')] } },
  {
    name: 'confirm of a 60,000-product order (one step, sample table)',
    reply: { blocks: [{ type: 'text', text: 'Please confirm:' }, bigConfirm()] },
  },
  {
    name: 'completion notice',
    reply: {
      blocks: [
        {
          type: 'text',
          text: '⚠️ **SA-2026-00160** finished with failures: 2 of 3 renders completed, 1 failed (1 min 4 s).',
        },
        {
          type: 'facts',
          facts: [
            { label: 'Output', value: 'WebP 1024x1024' },
            { label: 'Completed', value: '2' },
            { label: 'Failed', value: '1' },
            { label: 'Duration', value: '1 min 4 s' },
          ],
        },
        {
          type: 'table',
          title: 'Failed renders',
          columns: ['PIM id', 'Product', 'Reason'],
          rows: [['KL-6206', 'Rillenkugellager 6206 2RS', 'mesh missing']],
          total: 1,
          truncated: false,
        },
        ...['6204', '6205'].map((n) => ({
          type: 'image' as const,
          url: `https://bot.example.com/renders/${n}?exp=1&sig=ab`,
          alt: `KL-${n}`,
        })),
        {
          type: 'text',
          text: '[All results of SA-2026-00160](https://bot.example.com/orders/4f1c/results?exp=1&sig=ab)',
        },
      ],
    },
  },
  { name: 'empty', reply: { blocks: [] } },
];

describe('renderAdaptiveCard', () => {
  it.each(cases)(
    '$name: valid Adaptive Card 1.5 (JSON schema and the adaptivecards object model) under the size limits',
    ({ reply }) => {
      const card = renderAdaptiveCard(reply);
      expect(cardSchemaProblems(card)).toEqual([]);
      expect(cardObjectModelProblems(card)).toEqual([]);
      expect(card.version).toBe('1.5');
      expect(size(card)).toBeLessThanOrEqual(CARD_MAX_BYTES);
      const message = renderTeamsMessage(reply);
      expect(size(message)).toBeLessThan(TEAMS_MESSAGE_MAX_BYTES);
      expect(message.text ?? message.summary ?? '').not.toBe('');
      if (message.attachments)
        expect((message.attachments[0]!.content as { fallbackText?: string }).fallbackText).toBeTruthy();
    },
  );

  it('the card checks catch what they are for', () => {
    const bad = {
      type: 'AdaptiveCard',
      version: '1.5',
      body: [
        { type: 'TextBlock', id: 'a', text: 'x' },
        { type: 'TextBlock', id: 'a', text: 'y' },
        { type: 'Chart', data: [] },
      ],
      actions: Array.from({ length: 6 }, (_, i) => ({ type: 'Action.Execute', title: `b${i}`, verb: 'v' })),
    };
    expect(cardObjectModelProblems(bad)).toEqual([
      'Parse/UnknownElementType: Unknown element type "Chart". Fallback will be used if present.',
      'Validation/DuplicateId: Duplicate Id "a".',
      'Validation/TooManyActions: Maximum number of actions exceeded (5).',
    ]);
    expect(cardSchemaProblems({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock' }] })).not.toEqual([]);
  });

  it('shows consecutive images as one ImageSet of thumbnails', () => {
    const card = renderAdaptiveCard(cases.find((c) => c.name === 'completion notice')!.reply);
    const sets = card.body.filter((e) => e.type === 'ImageSet');
    expect(sets).toHaveLength(1);
    expect((sets[0]!.images as { url: string }[]).map((i) => i.url)).toEqual([
      'https://bot.example.com/renders/6204?exp=1&sig=ab',
      'https://bot.example.com/renders/6205?exp=1&sig=ab',
    ]);
  });

  it('cuts a 200-row table with "and N more"', () => {
    const card = renderAdaptiveCard({ blocks: [table(200, 'y'.repeat(300))] });
    const json = JSON.stringify(card);
    const shown = (card.body.find((e) => e.type === 'Table') as { rows: unknown[] }).rows.length - 1;
    expect(shown).toBeLessThan(200);
    expect(json).toContain(`… and ${200 - shown} more`);
  });

  it('a pending confirm has Confirm/Cancel Action.Execute buttons and a refresh; a resolved one has neither', () => {
    const pending = JSON.stringify(renderAdaptiveCard({ blocks: [confirm('pending')] }));
    expect(pending).toContain(`"verb":"${VERBS.confirm}"`);
    expect(pending).toContain(`"verb":"${VERBS.cancel}"`);
    expect(pending).toContain(`"data":{"actionId":"${actionId}"}`);
    expect(renderAdaptiveCard({ blocks: [confirm('pending')] }).refresh).toMatchObject({
      action: { type: 'Action.Execute', verb: VERBS.refresh, data: { actionId } },
    });
    const done = renderAdaptiveCard({ blocks: [confirm('done', 'Confirmed by Anna: Created order SA-2026-00160')] });
    expect(JSON.stringify(done)).not.toContain('Action.Execute');
    expect(done.refresh).toBeUndefined();
    expect(JSON.stringify(done)).toContain('Confirmed by Anna');
  });

  it('neutralises markdown, links and card functions in data', () => {
    expect(escapeCardText('**bold** [click](https://evil.example) {{DATE(2017-02-14T06:08:39Z)}}')).toBe(
      '\\*\\*bold\\*\\* \\[click\\](https://evil.example) {\u200b{DATE(2017-02-14T06:08:39Z)}}',
    );
    expect(escapeCardText('- not a list\n1. nor this')).toBe('\\- not a list\n\\1. nor this');
    expect(escapeCardText('\n\n  - after blank lines\r\n\t+ tab\n12. twelve')).toBe(
      '\n\n  \\- after blank lines\r\n\t\\+ tab\n\\12. twelve',
    );
    const card = renderAdaptiveCard({
      blocks: [{ type: 'facts', facts: [{ label: 'Note', value: '[phish](https://evil.example)' }] }],
    });
    expect(JSON.stringify(card.body)).not.toContain('"[phish]');
  });

  it('text-only replies are plain markdown messages, others carry the card and a text summary', () => {
    expect(renderTeamsMessage({ blocks: [{ type: 'text', text: 'Hi' }] })).toEqual({
      type: 'message',
      textFormat: 'markdown',
      text: 'Hi',
    });
    const m = renderTeamsMessage({ blocks: [table(2)] });
    expect(m.attachments?.[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(m.summary).toBe('Products');
  });

  it('cuts a text answer to the message byte limit with a visible "…", also where JSON makes characters longer', () => {
    // 6,000 characters fit CARD_TEXT_MAX, but JSON writes each of these control characters in 6 bytes (36 KB).
    const m = renderTeamsMessage({ blocks: [{ type: 'text', text: `Start ${'\u0007'.repeat(6000)}` }] });
    expect(size(m)).toBeLessThanOrEqual(TEAMS_MESSAGE_MAX_BYTES);
    expect(size(m)).toBeGreaterThan(TEAMS_MESSAGE_MAX_BYTES - 64);
    expect(m.text).toMatch(/^Start \u0007+…$/);
    const plain = renderTeamsMessage({ blocks: [{ type: 'text', text: 'x'.repeat(5000) }] });
    expect(plain.text).toBe('x'.repeat(5000));
  });
});
