import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { NOTE_LABEL } from '../core/agent/data-messages.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';

let h: WebHarness;
let acme: TenantFixture;
let browser: Browser;

beforeAll(async () => {
  h = await startWebHarness();
  acme = await makeTenant(h.em(), 'acme');
  await h.enableAi(acme.tenant.id);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function signedIn(): Promise<{ page: Page; problems: string[] }> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${h.base}/chat`);
  await page.getByLabel('API token').fill(await h.token(acme.tenant.id, 'alice', 'operator'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Message', { exact: true }).waitFor();
  return { page, problems };
}

const orderFromFile = (req: FakeLlmRequest) => {
  const note = String(
    req.body.messages.find((m) => m.role === 'user' && String(m.content).startsWith(NOTE_LABEL))?.content,
  );
  return {
    toolCalls: [
      {
        name: 'create_order',
        arguments: {
          product_ids: null,
          product_filter: null,
          product_file: /product_file "([0-9a-f-]{36})"/.exec(note)?.[1],
          output_type_name: 'WebP 1024x1024',
          submit: true,
          material_override: null,
          render_overrides: null,
        },
      },
    ],
  };
};

describe('chat panel: files', () => {
  it('the attach button uploads a CSV, shows its summary, and the next message carries it to a confirmation', async () => {
    const { page, problems } = await signedIn();
    await page.locator('#rb-file').setInputFiles({
      name: 'ids.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('SKU\nACME-KL-6204\nACME-KL-6205\nNOPE-1\n'),
    });
    await page
      .locator('.rb-attachment', { hasText: 'ids.csv: 3 rows, column SKU, 2 match products, 1 unknown: NOPE-1' })
      .waitFor();
    h.llm.enqueue(orderFromFile);
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('Render these as WebP');
    await input.press('Enter');
    await page.getByRole('button', { name: 'Confirm' }).waitFor();
    await page
      .getByText('Create order for 2 products from ids.csv (1 id not found: NOPE-1) and start rendering')
      .waitFor();
    expect(await page.locator('.rb-attachment').count()).toBe(0);
    expect(problems).toEqual([]);
    h.llm.assertDone();
  });

  it('a file dropped on the composer is uploaded; a bad one gets its sentence', async () => {
    const { page } = await signedIn();
    const drop = async (name: string, content: string) => {
      // Runs in the page (a browser realm): DataTransfer and File are the page's own.
      const data = await page.evaluateHandle(
        `(() => { const dt = new DataTransfer(); dt.items.add(new File([${JSON.stringify(content)}], ${JSON.stringify(name)}, { type: 'text/csv' })); return dt; })()`,
      );
      await page.locator('.rb-composer').dispatchEvent('drop', { dataTransfer: data });
    };
    await drop('dropped.csv', 'PIM-ID\nACME-ZR-100\n');
    await page
      .locator('.rb-attachment', { hasText: 'dropped.csv: 1 row, column PIM-ID, 1 match products, none unknown' })
      .waitFor();
    await drop('page.csv', '<html><body>x</body></html>');
    await page
      .getByText('page.csv is an HTML or XML page, not a spreadsheet; export it from your PIM as .xlsx or .csv.')
      .waitFor();
    expect(await page.locator('.rb-attachment').count()).toBe(1);
  });
});
