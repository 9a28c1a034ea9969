import { describe, expect, it } from 'vitest';
import { renderText } from '../core/replies/text.ts';
import type { Reply } from '../core/replies/reply.ts';

const cases: { name: string; reply: Reply; expected: string }[] = [
  { name: 'text', reply: { blocks: [{ type: 'text', text: 'Hello **world**' }] }, expected: 'Hello **world**' },
  {
    name: 'facts aligned by label',
    reply: {
      blocks: [
        {
          type: 'facts',
          title: 'Order SA-2026-00001',
          facts: [
            { label: 'Status', value: 'rendering' },
            { label: 'Output type', value: 'WebP 1024x1024' },
          ],
        },
      ],
    },
    expected: 'Order SA-2026-00001\nStatus       rendering\nOutput type  WebP 1024x1024',
  },
  {
    name: 'table aligned, long cells cut, "and N more"',
    reply: {
      blocks: [
        {
          type: 'table',
          columns: ['PIM ID', 'Name'],
          rows: [
            ['KL-6204', 'Rillenkugellager 6204'],
            ['KL-1', 'x'.repeat(60)],
          ],
          total: 5,
          truncated: true,
        },
      ],
    },
    expected: `PIM ID   Name\n-------  ${'-'.repeat(48)}\nKL-6204  Rillenkugellager 6204\nKL-1     ${'x'.repeat(47)}…\n… and 3 more`,
  },
  {
    name: 'progress bar',
    reply: {
      blocks: [
        {
          type: 'progress',
          orderNumber: 'SA-2026-00002',
          status: 'rendering',
          total: 4,
          counts: { completed: 1, queued: 3, failed: 0 },
          ratio: 0.25,
        },
      ],
    },
    expected: 'SA-2026-00002 rendering [#####...............] 25% (1 completed, 3 queued)',
  },
  {
    name: 'pending confirm card with every step and how to decide',
    reply: {
      blocks: [
        {
          type: 'confirm',
          actionId: '00000000-0000-4000-8000-000000000000',
          title: 'Create order',
          status: 'pending',
          expiresAt: '2026-11-25T16:00:00.000Z',
          steps: [{ title: 'Create order for 2 products', details: ['Output type: WebP 1024x1024', 'Submit: yes'] }],
        },
      ],
    },
    expected:
      'Create order\n  1. Create order for 2 products\n     - Output type: WebP 1024x1024\n     - Submit: yes\nType "confirm" to run this or "cancel" to drop it (expires 2026-11-25T16:00:00.000Z).',
  },
  {
    name: 'resolved confirm card shows the outcome',
    reply: {
      blocks: [
        {
          type: 'confirm',
          actionId: '00000000-0000-4000-8000-000000000000',
          title: 'Create order',
          status: 'done',
          expiresAt: '2026-11-25T16:00:00.000Z',
          steps: [],
          outcome: 'Confirmed by alice: Created SA-2026-00003',
        },
      ],
    },
    expected: 'Create order\nStatus: done — Confirmed by alice: Created SA-2026-00003',
  },
  {
    name: 'long column names are cut like cells; long fact labels pad no further than a cell',
    reply: {
      blocks: [
        { type: 'table', columns: ['y'.repeat(60), 'n'], rows: [['a', '1']], total: 1, truncated: false },
        {
          type: 'facts',
          facts: [
            { label: 'z'.repeat(60), value: 'long' },
            { label: 'Status', value: 'done' },
          ],
        },
      ],
    },
    expected: `${'y'.repeat(47)}…  n\n${'-'.repeat(48)}  -\na${' '.repeat(49)}1\n\n${'z'.repeat(60)}  long\nStatus${' '.repeat(42)}  done`,
  },
];

describe('renderText', () => {
  it.each(cases)('$name', ({ reply, expected }) => {
    expect(renderText(reply)).toBe(expected);
  });

  it('renders a table of 200,000 rows (no spread of every row onto the stack)', () => {
    const text = renderText({
      blocks: [
        {
          type: 'table',
          columns: ['n'],
          rows: Array.from({ length: 200_000 }, (_, i) => [String(i)]),
          total: 200_000,
          truncated: false,
        },
      ],
    });
    expect(text.endsWith('\n199999')).toBe(true);
  });

  it('separates blocks with a blank line', () => {
    expect(
      renderText({
        blocks: [
          { type: 'text', text: 'a' },
          { type: 'image', url: 'https://x/y.webp', alt: 'tile' },
        ],
      }),
    ).toBe('a\n\n[image] tile: https://x/y.webp');
  });
});
