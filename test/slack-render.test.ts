import { describe, expect, it } from 'vitest';
import {
  CANCEL_ACTION_ID,
  CONFIRM_ACTION_ID,
  MAX_BLOCKS,
  MAX_FIELDS,
  MAX_HEADER_TEXT,
  MAX_MESSAGE_TEXT,
  MAX_NATIVE_TABLE_CHARS,
  MAX_NATIVE_TABLE_COLUMNS,
  MAX_NATIVE_TABLE_ROWS,
  MAX_SECTION_TEXT,
  escapeMrkdwn,
  renderBlockKit,
  splitText,
  toMrkdwn,
} from '../adapters/slack/render.ts';
import { startFakeSlack } from './fakes/slack-api.ts';
import { homeView } from '../adapters/slack/home.ts';
import { messageText } from '../adapters/slack/session.ts';
import type { ConfirmBlock, Reply } from '../core/replies/reply.ts';

type Cell = { type: string; text: string };
type AnyBlock = {
  type: string;
  text?: { type: string; text: string };
  fields?: { text: string }[];
  elements?: Record<string, unknown>[];
  rows?: Cell[][];
  column_settings?: { align?: string; is_wrapped?: boolean }[];
};
const blocksOf = (reply: Reply) => renderBlockKit(reply).blocks as unknown as AnyBlock[];
const allText = (reply: Reply) => JSON.stringify(renderBlockKit(reply));
const ACTION = '6f1c2b1e-8c1d-4a51-9a3e-2a4f6a1b9c01';

const confirm = (over: Partial<ConfirmBlock> = {}): ConfirmBlock => ({
  type: 'confirm',
  actionId: ACTION,
  title: 'Create and submit order: 3 products as WebP 1024x1024',
  steps: [
    {
      title: 'Create order for 3 products',
      details: ['Output type: WebP 1024x1024', 'Products: 6204, 6205, 6206 2RS', 'Submit: yes'],
    },
  ],
  expiresAt: '2026-11-25T12:15:00.000Z',
  status: 'pending',
  ...over,
});

/** Every Block Kit limit the renderer promises, checked on one rendered message. */
function assertWithinLimits(reply: Reply) {
  const { text, blocks } = renderBlockKit(reply);
  expect(text.length).toBeGreaterThan(0);
  expect(text.length).toBeLessThanOrEqual(MAX_MESSAGE_TEXT);
  expect(blocks.length).toBeLessThanOrEqual(MAX_BLOCKS);
  for (const b of blocks as unknown as AnyBlock[]) {
    if (b.type === 'section') {
      if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(MAX_SECTION_TEXT);
      if (b.fields) expect(b.fields.length).toBeLessThanOrEqual(MAX_FIELDS);
    }
    if (b.type === 'header') expect(b.text!.text.length).toBeLessThanOrEqual(MAX_HEADER_TEXT);
    if (b.type === 'table') {
      expect(b.rows!.length).toBeLessThanOrEqual(MAX_NATIVE_TABLE_ROWS);
      for (const r of b.rows!) {
        expect(r.length).toBeLessThanOrEqual(MAX_NATIVE_TABLE_COLUMNS);
        for (const c of r) expect(c).toEqual({ type: 'raw_text', text: expect.stringMatching(/^.+$/) });
      }
      expect(b.rows!.flat().reduce((n, c) => n + c.text.length, 0)).toBeLessThanOrEqual(MAX_NATIVE_TABLE_CHARS);
    }
  }
  // Slack allows one table block per message and shows it at the bottom: it must be the last block.
  const tables = (blocks as unknown as AnyBlock[]).flatMap((b, i) => (b.type === 'table' ? [i] : []));
  expect(tables.length).toBeLessThanOrEqual(1);
  if (tables.length) expect(tables[0]).toBe(blocks.length - 1);
}

/** The monospace fallback's code-block text of a rendered reply. */
const monospace = (blocks: AnyBlock[]) =>
  blocks
    .filter((b) => b.text?.text.startsWith('```'))
    .map((b) => b.text!.text)
    .join('\n');

describe('renderBlockKit limits (table-driven)', () => {
  const row = (i: number) => [
    `SA-2026-${String(i).padStart(5, '0')}`,
    'rendering',
    'WebP 1024x1024',
    String(i),
    `${i}/${i + 3}`,
    '0',
    '2026-11-25',
  ];
  const cases: { name: string; reply: Reply; check?: (blocks: AnyBlock[], reply: Reply) => void }[] = [
    {
      name: 'a completion notice: thumbnails as image blocks, the results link',
      reply: {
        blocks: [
          { type: 'text', text: '✅ **SA-2026-00160** is done: all 6 renders completed in 42 s.' },
          {
            type: 'facts',
            facts: [
              { label: 'Output', value: 'WebP 1024x1024' },
              { label: 'Completed', value: '6' },
              { label: 'Failed', value: '0' },
            ],
          },
          ...Array.from({ length: 6 }, (_, i) => ({
            type: 'image' as const,
            url: `https://bot.example.com/renders/${i}?exp=1&sig=ab`,
            alt: `KL-620${i}`,
          })),
          {
            type: 'text',
            text: '[All results of SA-2026-00160](https://bot.example.com/orders/4f1c/results?exp=1&sig=ab)',
          },
        ],
      },
      check: (b) => {
        expect(b.filter((x) => x.type === 'image')).toHaveLength(6);
        expect(JSON.stringify(b)).toContain(
          '<https://bot.example.com/orders/4f1c/results?exp=1&amp;sig=ab|All results of SA-2026-00160>',
        );
      },
    },
    {
      name: 'empty reply still has a fallback text',
      reply: { blocks: [] },
      check: (b, r) => {
        expect(b).toEqual([]);
        expect(renderBlockKit(r).text).toBe('RenderBot');
      },
    },
    {
      name: 'a 60-row table as the last block: one table block with every row',
      reply: {
        blocks: [
          { type: 'text', text: 'Latest orders:' },
          {
            type: 'table',
            columns: ['Order', 'Status', 'Output type', 'Items', 'Done', 'Failed', 'Created'],
            rows: Array.from({ length: 60 }, (_, i) => row(i)),
            total: 60,
            truncated: false,
          },
        ],
      },
      check: (b) => {
        expect(b.map((x) => x.type)).toEqual(['section', 'table']);
        expect(b[1]!.rows).toHaveLength(61);
        expect(b[1]!.rows![60]!.map((c) => c.text)).toEqual(row(59));
        expect(JSON.stringify(b)).not.toContain('more');
      },
    },
    {
      name: 'a 150-row table: the first 99 rows in the table block, "First 99 of 150" above it',
      reply: {
        blocks: [
          {
            type: 'table',
            columns: ['Order', 'Status', 'Output type', 'Items', 'Done', 'Failed', 'Created'],
            rows: Array.from({ length: 150 }, (_, i) => row(i)),
            total: 150,
            truncated: false,
          },
        ],
      },
      check: (b) => {
        expect(b.map((x) => x.type)).toEqual(['context', 'table']);
        expect(b[0]!.elements).toEqual([{ type: 'mrkdwn', text: 'First 99 of 150 rows:' }]);
        expect(b[1]!.rows).toHaveLength(MAX_NATIVE_TABLE_ROWS);
      },
    },
    {
      name: 'a table of long cells stops at 10 000 characters',
      reply: {
        blocks: [
          {
            type: 'table',
            columns: ['PIM id', 'Name'],
            rows: Array.from({ length: 90 }, (_, i) => [`KL-${i}`, 'Rillenkugellager '.repeat(30)]),
            total: 90,
            truncated: false,
          },
        ],
      },
      check: (b) => {
        const table = b.at(-1)!;
        expect(table.rows![1]![1]!.text).toHaveLength(300);
        expect(table.rows!.length).toBeLessThan(40);
        expect(b[0]!.elements).toEqual([{ type: 'mrkdwn', text: `First ${table.rows!.length - 1} of 90 rows:` }]);
      },
    },
    {
      name: 'a 60-row table followed by other blocks stays monospace',
      reply: {
        blocks: [
          {
            type: 'table',
            columns: ['Order', 'Status', 'Output type', 'Items', 'Done', 'Failed', 'Created'],
            rows: Array.from({ length: 60 }, (_, i) => row(i)),
            total: 60,
            truncated: false,
          },
          { type: 'text', text: 'Anything else?' },
        ],
      },
      check: (b) => {
        expect(b.some((x) => x.type === 'table')).toBe(false);
        expect(JSON.stringify(b)).toContain('… and 20 more');
      },
    },
    {
      name: 'a table reporting more rows than it carries',
      reply: {
        blocks: [
          {
            type: 'table',
            title: 'Latest orders',
            columns: ['Order'],
            rows: [['SA-2026-00001']],
            total: 7,
            truncated: true,
          },
        ],
      },
      check: (b) => {
        expect(b[0]!.text!.text).toBe('*Latest orders*');
        expect(b[1]!.elements).toEqual([{ type: 'mrkdwn', text: 'First 1 of 7 rows:' }]);
        expect(b[2]!.rows).toEqual([
          [{ type: 'raw_text', text: 'Order' }],
          [{ type: 'raw_text', text: 'SA-2026-00001' }],
        ]);
      },
    },
    {
      name: 'a table with 21 columns stays monospace',
      reply: {
        blocks: [
          {
            type: 'table',
            columns: Array.from({ length: 21 }, (_, i) => `C${i}`),
            rows: [Array.from({ length: 21 }, (_, i) => String(i))],
            total: 1,
            truncated: false,
          },
        ],
      },
      check: (b) => {
        expect(b.some((x) => x.type === 'table')).toBe(false);
        expect(monospace(b)).toContain('C20');
      },
    },
    {
      name: 'two tables: the last becomes a table block, the first stays monospace',
      reply: {
        blocks: [
          {
            type: 'table',
            title: 'By status',
            columns: ['Status', 'Jobs'],
            rows: [
              ['done', '12'],
              ['failed', '1'],
            ],
            total: 2,
            truncated: false,
          },
          {
            type: 'table',
            title: 'By output type',
            columns: ['Output type', 'Jobs'],
            rows: [['WebP 1024x1024', '13']],
            total: 1,
            truncated: false,
          },
        ],
      },
      check: (b) => {
        expect(b.map((x) => x.type)).toEqual(['section', 'section', 'section', 'table']);
        expect(monospace(b)).toContain('failed  1');
      },
    },
    {
      name: '12 000 characters of text',
      reply: {
        blocks: [
          {
            type: 'text',
            text: Array.from({ length: 400 }, (_, i) => `Sentence number ${i} about ball bearings.`).join(' '),
          },
        ],
      },
      check: (b) => {
        expect(b.length).toBeGreaterThanOrEqual(4);
        expect(b.every((x) => x.type === 'section')).toBe(true);
      },
    },
    {
      name: 'one 5000-character word',
      reply: { blocks: [{ type: 'text', text: 'x'.repeat(5000) }] },
      check: (b) => expect(b).toHaveLength(2),
    },
    {
      name: '23 facts',
      reply: {
        blocks: [
          {
            type: 'facts',
            title: 'Order',
            facts: Array.from({ length: 23 }, (_, i) => ({ label: `Label ${i}`, value: `Value ${i}` })),
          },
        ],
      },
      check: (b) => expect(b.map((x) => x.fields?.length ?? 0)).toEqual([0, 10, 10, 3]),
    },
    {
      name: '80 text blocks and a confirm card (card kept whole)',
      reply: {
        blocks: [
          ...Array.from({ length: 80 }, (_, i) => ({ type: 'text' as const, text: `Paragraph ${i}` })),
          confirm(),
        ],
      },
      check: (b) => {
        expect(b).toHaveLength(MAX_BLOCKS);
        expect(b.at(-1)!.type).toBe('actions');
        expect(JSON.stringify(b)).toMatch(/… \d+ more blocks not shown/);
      },
    },
    {
      name: 'a confirm title longer than a header',
      reply: { blocks: [confirm({ title: 'Render '.repeat(40) })] },
      check: (b) => expect(b[0]!.text!.text.endsWith('…')).toBe(true),
    },
    {
      name: 'a plan with 200 detail lines',
      reply: {
        blocks: [
          confirm({
            steps: [
              {
                title: 'Create order',
                details: Array.from(
                  { length: 200 },
                  (_, i) => `Product ${i}: Rillenkugellager 62${i} 2RS, steel, 1024x1024 WebP`,
                ),
              },
            ],
          }),
        ],
      },
      check: (b) => expect(b.at(-1)!.type).toBe('actions'),
    },
  ];
  it.each(cases)('$name', ({ reply, check }) => {
    assertWithinLimits(reply);
    check?.(blocksOf(reply), reply);
  });
});

describe('renderBlockKit content', () => {
  it('renders a pending confirm card: header, exact steps, expiry, Confirm/Cancel buttons', () => {
    expect(blocksOf({ blocks: [confirm()] })).toEqual([
      {
        type: 'header',
        text: { type: 'plain_text', text: 'Create and submit order: 3 products as WebP 1024x1024', emoji: false },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '*1. Create order for 3 products*\n• Output type: WebP 1024x1024\n• Products: 6204, 6205, 6206 2RS\n• Submit: yes',
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: 'Nothing changes until someone confirms. Expires <!date^1795608900^{date_short_pretty} at {time}|2026-11-25 12:15 UTC>.',
          },
        ],
      },
      {
        type: 'actions',
        block_id: `renderbot.confirm.${ACTION}`,
        elements: [
          {
            type: 'button',
            action_id: CONFIRM_ACTION_ID,
            text: { type: 'plain_text', text: 'Confirm' },
            style: 'primary',
            value: ACTION,
          },
          {
            type: 'button',
            action_id: CANCEL_ACTION_ID,
            text: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
            value: ACTION,
          },
        ],
      },
    ]);
  });

  it('renders a resolved card without buttons, with outcome, who (as a mention) and when', () => {
    const blocks = blocksOf({
      blocks: [
        confirm({
          status: 'done',
          outcome: 'Confirmed by U0ALICE001 at 2026-11-25 12:03 UTC: Created SA-2026-00161 & dispatched 3 renders',
        }),
      ],
    });
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    expect(blocks[2]!.elements).toEqual([
      {
        type: 'mrkdwn',
        text: ':white_check_mark: Confirmed by <@U0ALICE001> at 2026-11-25 12:03 UTC: Created SA-2026-00161 &amp; dispatched 3 renders',
      },
    ]);
    expect(JSON.stringify(blocks)).not.toContain(CONFIRM_ACTION_ID);
    for (const status of ['cancelled', 'expired', 'failed', 'executing'] as const) {
      expect(
        blocksOf({ blocks: [confirm({ status, outcome: `It is ${status}` })] }).some((b) => b.type === 'actions'),
      ).toBe(false);
    }
  });

  it('escapes user and product text everywhere it is mrkdwn (no mentions, links or broadcasts can be injected)', () => {
    const evil = '<!channel> <@U0BOSS> <https://evil.example|click> & co';
    const reply: Reply = {
      blocks: [
        { type: 'text', text: evil },
        { type: 'facts', title: evil, facts: [{ label: evil, value: evil }] },
        { type: 'table', title: evil, columns: ['Name'], rows: [[evil]], total: 1, truncated: false },
        {
          type: 'progress',
          orderNumber: 'SA-2026-00001',
          status: evil,
          total: 3,
          counts: { completed: 1 },
          ratio: 0.33,
        },
        confirm({ steps: [{ title: evil, details: [evil] }] }),
      ],
    };
    const json = allText(reply);
    expect(json).not.toMatch(/<!channel>|<@U0BOSS>|<https:\/\/evil/);
    expect(json).toContain('&lt;!channel&gt;');
    expect(renderBlockKit(reply).text).not.toContain('<!channel>');
    // plain_text (header) is never parsed by Slack, so it stays as written
    expect(blocksOf({ blocks: [confirm({ title: evil })] })[0]!.text).toEqual({
      type: 'plain_text',
      text: evil,
      emoji: false,
    });
  });

  it('turns the markdown subset into mrkdwn and keeps only http(s) links', () => {
    const [b] = blocksOf({
      blocks: [
        {
          type: 'text',
          text: '## Done\n**3 renders** queued, see [the order](https://app.example/orders/1?a=1&b=2) or [x](javascript:alert(1))',
        },
      ],
    });
    expect(b!.text!.text).toBe(
      '*Done*\n*3 renders* queued, see <https://app.example/orders/1?a=1&amp;b=2|the order> or [x](javascript:alert(1))',
    );
  });

  it('turns markdown emphasis into Slack emphasis: *italic* → _italic_, **bold** → *bold*, never inside code', () => {
    expect(toMrkdwn('*italic*')).toBe('_italic_');
    expect(toMrkdwn('**bold**')).toBe('*bold*');
    expect(toMrkdwn('`*code*`')).toBe('`*code*`');
    expect(toMrkdwn('```\n*code* and **code**\n```')).toBe('```\n*code* and **code**\n```');
    expect(
      toMrkdwn(
        '**3 renders** are *queued*, __2__ are _done_; ***all*** of `*x*` (*see* [the *order*](https://app.example/o/1))',
      ),
    ).toBe('*3 renders* are _queued_, *2* are _done_; *_all_* of `*x*` (_see_ <https://app.example/o/1|the _order_>)');
    expect(toMrkdwn('**a *b* c** and *a **b** c*')).toBe('*a _b_ c* and _a *b* c_');
    // Not emphasis: a list bullet, arithmetic, a star inside a word, an unclosed star.
    expect(toMrkdwn('* item\n5 * 3 = 15, 2*3*4 = 24, *open')).toBe('* item\n5 * 3 = 15, 2*3*4 = 24, *open');
  });

  it('leaves code spans and fenced code as written; a link label holds no [', () => {
    expect(
      toMrkdwn('run `**x**` and ``a ` b`` **now**\n```\n## **not** [a](https://x.example)\n```\n### **Done**'),
    ).toBe('run `**x**` and ``a ` b`` *now*\n```\n## **not** [a](https://x.example)\n```\n*Done*');
    expect(toMrkdwn('[a [b](https://x.example) and `[c](https://y.example)`')).toBe(
      '[a <https://x.example|b> and `[c](https://y.example)`',
    );
  });

  it('renders images only for http(s) URLs and code-safe monospace table cells', () => {
    expect(blocksOf({ blocks: [{ type: 'image', url: 'https://cdn.example/r.webp', alt: 'Render' }] })).toEqual([
      { type: 'image', image_url: 'https://cdn.example/r.webp', alt_text: 'Render' },
    ]);
    expect(blocksOf({ blocks: [{ type: 'image', url: 'file:///etc/passwd', alt: 'x' }] })[0]!.type).toBe('section');
    const [t] = blocksOf({
      blocks: [
        { type: 'table', columns: ['Name'], rows: [['a```b']], total: 1, truncated: false },
        { type: 'text', text: 'Done.' },
      ],
    });
    expect(t!.text!.text.match(/```/g)).toHaveLength(2);
  });

  it("renders a reply's last table as a table block: raw text cells (never mrkdwn), wrapped columns, numbers right-aligned", () => {
    const evil = '<!channel> <@U0BOSS> *bold* `code`';
    expect(
      blocksOf({
        blocks: [
          { type: 'text', text: 'Found 2 products:' },
          {
            type: 'table',
            title: 'Products <b>',
            columns: ['PIM id', 'Name', 'Renders', 'Share'],
            rows: [
              ['KL-6204', evil, '12', '45.5%'],
              ['KL-6205', '  Two\nlines  ', '1,204', ''],
            ],
            total: 2,
            truncated: false,
          },
        ],
      }),
    ).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: 'Found 2 products:' } },
      { type: 'section', text: { type: 'mrkdwn', text: '*Products &lt;b&gt;*' } },
      {
        type: 'table',
        column_settings: [
          { is_wrapped: true },
          { is_wrapped: true },
          { is_wrapped: true, align: 'right' },
          { is_wrapped: true },
        ],
        rows: [
          [
            { type: 'raw_text', text: 'PIM id' },
            { type: 'raw_text', text: 'Name' },
            { type: 'raw_text', text: 'Renders' },
            { type: 'raw_text', text: 'Share' },
          ],
          [
            { type: 'raw_text', text: 'KL-6204' },
            { type: 'raw_text', text: evil },
            { type: 'raw_text', text: '12' },
            { type: 'raw_text', text: '45.5%' },
          ],
          [
            { type: 'raw_text', text: 'KL-6205' },
            { type: 'raw_text', text: 'Two lines' },
            { type: 'raw_text', text: '1,204' },
            { type: 'raw_text', text: ' ' },
          ],
        ],
      },
    ]);
  });

  it('the fake Slack Web API accepts the table blocks renderBlockKit makes and refuses what Slack refuses', async () => {
    const slack = await startFakeSlack();
    try {
      slack.addTeam({ token: 'xoxb-test', teamId: 'T0TABLES', botUserId: 'U0BOT', botId: 'B0BOT' });
      const post = async (blocks: unknown) =>
        (await (
          await fetch(`${slack.apiUrl}chat.postMessage`, {
            method: 'POST',
            headers: { authorization: 'Bearer xoxb-test', 'content-type': 'application/json' },
            body: JSON.stringify({ channel: 'C1', text: 't', blocks }),
          })
        ).json()) as { ok: boolean; error?: string };
      const table = (rows: { type: string; text?: string }[][]) => ({ type: 'table', rows });
      const reply: Reply = {
        blocks: [
          {
            type: 'table',
            columns: ['Order', 'Status'],
            rows: Array.from({ length: 150 }, (_, i) => [`SA-${i}`, '']),
            total: 150,
            truncated: false,
          },
        ],
      };
      expect(await post(renderBlockKit(reply).blocks)).toEqual(expect.objectContaining({ ok: true }));
      expect(slack.failures).toEqual([]);
      const ok = table([[{ type: 'raw_text', text: 'a' }]]);
      expect(await post([ok, ok])).toMatchObject({ ok: false, error: 'invalid_blocks' });
      expect(await post([table(Array.from({ length: 101 }, () => [{ type: 'raw_text', text: 'a' }]))])).toMatchObject({
        ok: false,
      });
      expect(await post([table([Array.from({ length: 21 }, () => ({ type: 'raw_text', text: 'a' }))])])).toMatchObject({
        ok: false,
      });
      expect(await post([table([[{ type: 'raw_text', text: '' }]])])).toMatchObject({ ok: false });
      expect(await post([table([[{ type: 'mrkdwn', text: '*a*' }]])])).toMatchObject({ ok: false });
      expect(await post([table([[{ type: 'raw_text', text: 'x'.repeat(10_001) }]])])).toMatchObject({ ok: false });
      expect(await post([{ ...ok, column_settings: [{ align: 'justify' }] }])).toMatchObject({ ok: false });
      expect(slack.failures).toEqual([
        'chat.postMessage: more than one table block',
        'chat.postMessage: table rows: 1–100 required',
        'chat.postMessage: table row: 1–20 cells required',
        'chat.postMessage: table cell: raw_text needs a non-empty text',
        'chat.postMessage: table cell: unknown type mrkdwn',
        'chat.postMessage: table cells: 10001 characters > 10000',
        'chat.postMessage: table column_settings: bad align justify',
      ]);
    } finally {
      await slack.close();
    }
  });

  it('splits text at paragraph boundaries and never inside an escape', () => {
    expect(splitText('aaaa\n\nbbbb', 6)).toEqual(['aaaa', 'bbbb']);
    const pieces = splitText(escapeMrkdwn('x'.repeat(2997) + '&&&&'), 3000);
    expect(pieces.every((p) => !/&[a-z]{0,3}$/.test(p))).toBe(true);
  });
});

describe('Slack text and App Home', () => {
  it('normalises message text for the core', () => {
    expect(
      messageText(
        '<@U0BOT00001> render <https://x.example/a|this> for <@U0ALICE001> in <#C123|renders> &lt;now&gt; &amp; fast',
        'U0BOT00001',
      ),
    ).toBe('render this (https://x.example/a) for @U0ALICE001 in #renders <now> & fast');
  });

  it('home view for an unlinked workspace explains linking', () => {
    expect(JSON.stringify(homeView({}))).toContain('renderbot admin link code --tenant');
  });
});

describe('Slack app manifest', () => {
  it('requests exactly the bot scopes the installer asks for, and points every URL at /slack/*', async () => {
    const { readFileSync } = await import('node:fs');
    const { BOT_SCOPES } = await import('../adapters/slack/app.ts');
    const yml = readFileSync(new URL('../manifest/slack/manifest.yaml', import.meta.url), 'utf8');
    const bot = /\n {4}bot:\n((?: {6}(?:- .+|#.*)\n)+)/.exec(yml)![1]!;
    expect(
      bot
        .split('\n')
        .filter((l) => l.trim().startsWith('- '))
        .map((l) => l.trim().slice(2))
        .sort(),
    ).toEqual([...BOT_SCOPES].sort());
    for (const event of [
      'app_mention',
      'message.channels',
      'message.groups',
      'message.im',
      'app_home_opened',
      'agent_session_stopped',
    ])
      expect(yml).toContain(`      - ${event}\n`);
    expect(yml.match(/https:\/\/YOUR_HOST\/\S+/g)!.every((u) => /\/slack\/(events|oauth_redirect)$/.test(u))).toBe(
      true,
    );
    expect(yml).toContain('command: /render');
  });
});

describe('Slack configuration modes', () => {
  it.each([
    [{ signingSecret: 's', botToken: 'xoxb-1' }, 'single'],
    [{ signingSecret: 's', clientId: 'c', clientSecret: 'cs', stateSecret: 'st' }, 'oauth'],
    [{ appToken: 'xapp-1', botToken: 'xoxb-1' }, 'socket'],
  ] as const)('%o → %s', async (settings, mode) => {
    const { slackMode } = await import('../adapters/slack/app.ts');
    expect(slackMode(settings)).toBe(mode);
  });

  it.each([
    [{ signingSecret: 's' }, /SLACK_BOT_TOKEN/],
    [{ signingSecret: 's', clientId: 'c' }, /missing: SLACK_CLIENT_SECRET, SLACK_STATE_SECRET/],
    [{ appToken: 'xapp-1' }, /SLACK_BOT_TOKEN/],
    [{ botToken: 'xoxb-1' }, /SLACK_SIGNING_SECRET/],
  ] as const)('%o is a configuration error naming the variable', async (settings, message) => {
    const { slackMode } = await import('../adapters/slack/app.ts');
    expect(() => slackMode(settings)).toThrow(message);
  });
});
