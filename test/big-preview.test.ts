import { describe, expect, it } from 'vitest';
import { renderBlockKit, MAX_BLOCKS, MAX_MESSAGE_TEXT, MAX_SECTION_TEXT } from '../adapters/slack/render.ts';
import { renderAdaptiveCard, renderTeamsMessage, TEAMS_MESSAGE_MAX_BYTES } from '../adapters/teams/render.ts';
import { renderText } from '../core/replies/text.ts';
import type { ConfirmBlock, Reply } from '../core/replies/reply.ts';
import { bigConfirm } from './support/previews.ts';

const reply: Reply = {
  blocks: [{ type: 'text', text: 'There are 60,000 Kugellager products. Please confirm:' }, bigConfirm()],
};
const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

describe('the confirmation of a 60,000-product order', () => {
  it('says the count, the selection in words, 5 sample products, output type, material and overrides', () => {
    const c = bigConfirm();
    expect(c.title).toBe('Create order for 60,000 products in category Kugellager and start rendering');
    expect(c.steps[0]!.details).toEqual([
      'Products: all 60,000 in category Kugellager as of this preview (products added later are not included)',
      'Output type: WebP 1024x1024 (WEBP, 1024×1024 px)',
      'Material: Steel-Bare (override for all products)',
      'Render overrides: background transparent, camera angle iso',
      'Submit: yes — 60,000 render jobs will be queued',
      'Order number: assigned on confirmation',
    ]);
    expect(c.steps[0]!.sample).toMatchObject({ total: 60_000, columns: ['PIM ID', 'Product'] });
    expect(c.steps[0]!.sample!.rows).toHaveLength(5);
  });

  it('is a short Slack message within Block Kit limits, the title not repeated as step 1', () => {
    const { text, blocks } = renderBlockKit(reply);
    expect(blocks.length).toBeLessThanOrEqual(12);
    expect(blocks.length).toBeLessThanOrEqual(MAX_BLOCKS);
    expect(text.length).toBeLessThanOrEqual(MAX_MESSAGE_TEXT);
    const sections = blocks.filter((b) => b.type === 'section').map((b) => (b as { text: { text: string } }).text.text);
    expect(sections.every((s) => s.length <= MAX_SECTION_TEXT)).toBe(true);
    const body = sections.join('\n');
    expect(body).not.toContain('1. Create order');
    expect(body).toContain('• Products: all 60,000 in category Kugellager');
    expect(body).toContain('KL-6004-2RS-C3-0000000');
    expect(body).toContain('KL-6004-2RS-C3-0000000  Rillenkugellager 6004-2RS C3 &lt;b&gt;&amp;amp;');
    expect(body).toContain('… and 59,995 more');
    expect(bytes(blocks)).toBeLessThan(3_000);
  });

  it('is a Teams card well under 28 KB with the sample as a table, the title not repeated as step 1', () => {
    const card = renderAdaptiveCard(reply);
    expect(bytes(renderTeamsMessage(reply))).toBeLessThan(TEAMS_MESSAGE_MAX_BYTES / 4);
    const json = JSON.stringify(card);
    expect(json).not.toContain('1. Create order');
    expect(json).toContain('"type":"Table"');
    expect(json).toContain('… and 59,995 more');
    expect(JSON.stringify(card.body).match(/Create order for 60,000 products/g)).toHaveLength(1);
  });

  it('reads as short plain text in the terminal', () => {
    const text = renderText(reply);
    expect(text.split('\n').length).toBeLessThanOrEqual(20);
    expect(text).not.toMatch(/^\s+1\. /m);
    expect(text).toContain('… and 59,995 more');
  });

  it('keeps numbering for plans of several steps', () => {
    const two: ConfirmBlock = {
      ...bigConfirm(),
      title: 'Please confirm these 2 changes',
      steps: [
        bigConfirm().steps[0]!,
        { title: 'Set material of SA-2026-00160 to Steel-Bare', details: ['Order: SA-2026-00160 (draft)'] },
      ],
    };
    const r: Reply = { blocks: [two] };
    expect(JSON.stringify(renderBlockKit(r))).toContain('*1. Create order for 60,000 products');
    expect(JSON.stringify(renderAdaptiveCard(r))).toContain('2. Set material of SA-2026-00160');
    expect(renderText(r)).toMatch(/^ {2}2\. Set material/m);
  });
});
