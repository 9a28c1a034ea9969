import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { finishedLocalOrder } from './support/exports.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';

/* Results out on the web (issue 18 item 3): the reply carries the file block with its signed link, as the OpenAPI spec documents it. */

let h: WebHarness;
let acme: TenantFixture;
beforeAll(async () => {
  h = await startWebHarness({ env: { PUBLIC_URL: 'https://bot.example.com' } });
  acme = await makeTenant(h.em(), 'acme');
  await h.enableAi(acme.tenant.id);
});
afterAll(async () => {
  await h?.close();
});

describe('web chat', () => {
  it('export_results answers with a file block: name, what it holds, a 24 h link signed for the tenant', async () => {
    const o = await finishedLocalOrder(
      h.em(),
      h.config.dataDir,
      acme.tenant.id,
      acme.outputTypeIds['WebP 1024x1024']!,
      'ACME-KL',
      (p) => Buffer.from(p),
    );
    const token = await h.token(acme.tenant.id, 'alice', 'viewer');
    h.llm.enqueue(
      { toolCalls: [{ name: 'export_results', arguments: { order_id: o.orderNumber, format: 'zip' } }] },
      { content: 'Here you go.' },
    );
    const res = await h.api('/api/chat/messages', { token, body: { message: `zip of ${o.orderNumber}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { response: { reply: { blocks: { type: string; [k: string]: unknown }[] } } };
    const file = body.response.reply.blocks.find((b) => b.type === 'file')!;
    expect(file).toMatchObject({
      name: `${o.orderNumber}-results.zip`,
      description: '3 rendered images named by PIM id, and results.csv',
    });
    expect(String(file.url)).toMatch(
      new RegExp(`^https://bot\\.example\\.com/orders/${o.orderId}/export\\.zip\\?exp=\\d+&sig=[0-9a-f]{64}$`),
    );
    const exp = Number(new URL(String(file.url)).searchParams.get('exp'));
    expect(exp * 1000 - Date.parse(String(file.expiresAt))).toBeLessThan(1000);
    expect(Date.parse(String(file.expiresAt)) - Date.now()).toBeGreaterThan(23.9 * 3600 * 1000);
    const u = new URL(String(file.url));
    expect(
      h.app.renderLinks.verifyExport(
        acme.tenant.id,
        o.orderId,
        'zip',
        u.searchParams.get('exp')!,
        u.searchParams.get('sig')!,
      ),
    ).toBe('ok');
  });
});
