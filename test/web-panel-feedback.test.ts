import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { rows } from './support/rows.ts';
import { z } from 'zod';

/** Screenshots go to docs/screenshots only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree as it was. */
const SHOTS = process.env.UPDATE_SCREENSHOTS ? 'docs/screenshots' : mkdtempSync(join(tmpdir(), 'renderbot-shots-'));

/** A person's stored feedback on an answer. */
const storedFeedback = z.object({ user_id: z.string(), rating: z.string(), reason: z.string().nullable() });

let h: WebHarness;
let acme: TenantFixture;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  h = await startWebHarness();
  acme = await makeTenant(h.em(), 'acme');
  await h.enableAi(acme.tenant.id);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('chat panel: AI label, sources and thumbs', { timeout: 90_000 }, () => {
  it('labels the answer with its order (linked) and count, sends 👎 with a reason, then 👍 replaces it', async () => {
    const order = await createOrder(h.em(), acme.tenant.id, {
      products: { refs: ['ACME-KL-6204'] },
      outputTypeName: 'WebP 1024x1024',
      submit: false,
      createdBy: 'seed',
      now: new Date(),
    });
    const token = await h.token(acme.tenant.id, 'alice', 'operator');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${h.base}/chat`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const input = page.getByLabel('Message', { exact: true });
    await input.waitFor();

    h.llm.enqueue(
      {
        toolCalls: [
          { name: 'get_order_status', arguments: { order_id: order.orderNumber } },
          { name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 5 } },
        ],
      },
      {
        content: `Order **${order.orderNumber}** is still a draft with 1 product; there are 3 Kugellager products in the catalogue.`,
      },
    );
    await input.fill(`How is ${order.orderNumber} doing?`);
    await input.press('Enter');
    const label = page.locator('.rb-ai-label');
    await label.waitFor();
    expect(await label.textContent()).toMatch(
      new RegExp(`AI-generated.*Sources: ${order.orderNumber} · 3 products in category Kugellager`),
    );
    expect(await label.getByRole('link', { name: order.orderNumber }).getAttribute('href')).toMatch(
      new RegExp(`/orders/${order.orderId}/results\\?exp=\\d+&sig=[0-9a-f]{64}$`),
    );

    const feedbackRows = () =>
      rows(h.em(), storedFeedback, `select user_id, rating, reason from answer_feedback where tenant_id = ?`, [
        acme.tenant.id,
      ]);
    await page.getByRole('button', { name: 'Not helpful' }).click();
    const reason = page.getByLabel('What went wrong? (optional)');
    await reason.waitFor();
    expect(await feedbackRows()).toEqual([{ user_id: 'alice', rating: 'down', reason: null }]);
    await reason.fill('It should have listed the failed renders.');
    await page.screenshot({ path: `${SHOTS}/web-panel-feedback.png` });
    await page.getByRole('button', { name: 'Send feedback' }).click();
    await page.getByRole('status').filter({ hasText: 'Thanks' }).waitFor();
    expect(await feedbackRows()).toEqual([
      { user_id: 'alice', rating: 'down', reason: 'It should have listed the failed renders.' },
    ]);
    expect(await page.getByRole('button', { name: 'Not helpful' }).getAttribute('aria-pressed')).toBe('true');

    await page.getByRole('button', { name: 'Helpful', exact: true }).click();
    await page.locator('.rb-thumb[aria-pressed="true"][aria-label="Helpful"]').waitFor();
    expect(await feedbackRows()).toEqual([{ user_id: 'alice', rating: 'up', reason: null }]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
