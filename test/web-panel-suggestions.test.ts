import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOf } from './support/rows.ts';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { LATEST_ORDERS } from '../core/tools/next-steps.ts';

/** Screenshots go to docs/screenshots only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree as it was. */
const SHOTS = process.env.UPDATE_SCREENSHOTS ? 'docs/screenshots' : mkdtempSync(join(tmpdir(), 'renderbot-shots-'));

let h: WebHarness;
let acme: TenantFixture;
let browser: Browser;

async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return { page, problems };
}

async function signIn(page: Page, token: string) {
  await page.goto(`${h.base}/chat`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Message', { exact: true }).waitFor();
}

/**
 * A page of the SaaS that embeds the panel the way its pages do: closed until the launcher is
 * clicked (served by the browser's router on the bot's origin; only the panel's files come from the server).
 */
async function openHostPage(page: Page, token: string) {
  await page.route('**/host-page', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><html><body><h1>Orders</h1><div id="renderbot-chat"></div><script type="module" src="/chat/panel.js"></script></body></html>',
    }),
  );
  await page.goto(`${h.base}/host-page`);
  await page.locator('.rb-launcher').click();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Message', { exact: true }).waitFor();
}

const userMessages = (content: string) =>
  countOf(h.em(), `select count(*)::int as n from chat_message where role = 'user' and content = ?`, [content]);

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

describe('suggestion chips and the unread badge in Chromium', () => {
  it("starts with the tenant's suggestions, offers next steps as chips, and a double click sends the text once", async () => {
    const token = await h.token(acme.tenant.id, 'alice', 'operator');
    const { page, problems } = await openPage();
    await signIn(page, token);
    const chips = page.getByRole('group', { name: 'Suggested next steps' }).getByRole('button');
    // A new conversation starts from the tenant's state (no orders yet).
    await expect.poll(() => chips.allTextContents()).toEqual([LATEST_ORDERS]);

    h.llm.enqueue(
      { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 25 } }] },
      { content: 'Three Kugellager products match.' },
    );
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('Which Kugellager products are there?');
    await input.press('Enter');
    await page.locator('.rb-assistant', { hasText: 'Three Kugellager products match.' }).waitFor();
    const render = page.getByRole('button', { name: 'Render these 3 products' });
    await render.waitFor();
    await page.screenshot({ path: `${SHOTS}/web-panel-suggestions.png` });

    // The click sends the chip's text as the person's message, once however it is clicked.
    h.llm.enqueue({ content: 'Which output type should they have?' });
    const calls = h.llm.requests.length;
    await render.dblclick();
    await page.locator('.rb-assistant', { hasText: 'Which output type should they have?' }).waitFor();
    expect(await page.locator('.rb-user .rb-bubble', { hasText: 'Render these 3 products' }).count()).toBe(1);
    expect(await userMessages('Render these 3 products')).toBe(1);
    expect(h.llm.requests.length - calls).toBe(1);
    h.llm.assertDone();
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('counts answers that arrive while the panel is closed on the launcher, keeps the count over a reload, and clears it on opening', async () => {
    const token = await h.token(acme.tenant.id, 'bea', 'operator');
    const { page, problems } = await openPage();
    await openHostPage(page, token);
    const launcher = page.locator('.rb-launcher');
    const badge = page.locator('.rb-launcher .rb-badge');

    // The answer is held until the panel is closed.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.llm.enqueue(async () => {
      await held;
      return { content: 'All renderers are idle.' };
    });
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('are the renderers idle?');
    await input.press('Enter');
    await page.locator('.rb-typing').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('.rb-panel.rb-open').waitFor({ state: 'detached' });
    expect(await badge.count()).toBe(0);
    release();
    await badge.filter({ hasText: '1' }).waitFor();
    // Screen readers hear it as the launcher's description.
    expect(await launcher.getAttribute('aria-describedby')).toBe('rb-unread');
    expect(await badge.textContent()).toBe('1 unread');
    await page.screenshot({ path: `${SHOTS}/web-panel-unread-badge.png` });

    // A reload keeps it; what arrives in the conversation meanwhile (here an answer to the same person elsewhere) adds to it.
    await page.reload();
    await badge.filter({ hasText: '1' }).waitFor();
    const sessions = (await (await h.api('/api/chat/sessions', { token })).json()) as {
      sessions: { session_id: string }[];
    };
    h.llm.enqueue({ content: 'Nothing is queued either.' });
    expect(
      (
        await h.api('/api/chat/messages', {
          token,
          body: { message: 'and the queue?', session_id: sessions.sessions[0]!.session_id },
        })
      ).status,
    ).toBe(200);
    await badge.filter({ hasText: '2' }).waitFor();

    // Opening the conversation shows both answers and clears the badge, also after another reload.
    await launcher.click();
    await page.locator('.rb-assistant', { hasText: 'All renderers are idle.' }).waitFor();
    await page.locator('.rb-assistant', { hasText: 'Nothing is queued either.' }).waitFor();
    await page.keyboard.press('Escape');
    await page.locator('.rb-panel.rb-open').waitFor({ state: 'detached' });
    expect(await badge.count()).toBe(0);
    await page.reload();
    await page.getByRole('button', { name: 'Open RenderBot chat' }).waitFor();
    expect(await badge.count()).toBe(0);
    h.llm.assertDone();
    await page.context().close();
    expect(problems).toEqual([]);
  });
});
