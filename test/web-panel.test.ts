import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';
import { upsertProducts } from '../core/pipeline/catalogue.ts';
import { seedCategoryProducts } from '../bot/seed/bulk.ts';
import { createLoginCode } from '../core/tenancy/tokens.ts';
import { lastNote } from './support/prompt.ts';
import { z } from 'zod';
import { countOf, rows } from './support/rows.ts';

/** Screenshots go to docs/screenshots only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree as it was. */
const SHOTS = process.env.UPDATE_SCREENSHOTS ? 'docs/screenshots' : mkdtempSync(join(tmpdir(), 'renderbot-shots-'));
const XSS = '<img src=x onerror=alert(1)>';

let h: WebHarness;
let acme: TenantFixture;
let globex: TenantFixture;
let browser: Browser;

function toolResult(req: FakeLlmRequest, name: string): unknown {
  const msgs = req.body.messages;
  const call = [...msgs]
    .reverse()
    .flatMap((m) => (m.tool_calls as { id: string; function: { name: string } }[] | undefined) ?? [])
    .find((c) => c.function.name === name);
  return JSON.parse(String(msgs.find((m) => m.role === 'tool' && m.tool_call_id === call?.id)?.content));
}

/** A page that records script dialogs, page errors and CSP violations; all must stay empty. */
async function openPage(width = 1280, height = 800): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width, height } });
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

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  h = await startWebHarness();
  acme = await makeTenant(h.em(), 'acme');
  globex = await makeTenant(h.em(), 'globex');
  await upsertProducts(h.em(), acme.tenant.id, [
    { pimId: 'ACME-XSS-1', name: XSS, category: 'Kugellager', materialName: null },
  ]);
  await h.enableAi(acme.tenant.id);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('chat panel in Chromium', () => {
  it('serves /chat with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${h.base}/chat`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain('frame-ancestors https://saas.example');
  });

  it('signs in with a token, sends the seed example, confirms, and shows the order number', async () => {
    const token = await h.token(acme.tenant.id, 'alice', 'operator');
    const { page, problems } = await openPage();
    await signIn(page, token);
    h.llm.enqueue(
      { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 200 } }] },
      (req) => {
        const found = toolResult(req, 'search_products') as { products: { id: string; name: string }[] };
        const ids = found.products.filter((p) => p.name !== XSS).map((p) => p.id);
        return {
          content: 'I found 3 Kugellager products. Please confirm the order:',
          toolCalls: [
            {
              name: 'create_order',
              arguments: {
                product_ids: ids,
                output_type_name: 'WebP 1024x1024',
                submit: true,
                material_override: null,
                render_overrides: null,
              },
            },
          ],
        };
      },
    );
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('Render all Kugellager products as WebP at 1024x1024');
    await input.press('Enter');
    const confirm = page.getByRole('button', { name: 'Confirm' });
    await confirm.waitFor();
    expect(await page.locator('.rb-user .rb-bubble').first().textContent()).toMatch(/Render all Kugellager products/);
    await page.screenshot({ path: `${SHOTS}/web-panel-confirm.png` });

    h.llm.enqueue((req) => {
      const number = /SA-\d{4}-\d{5}/.exec(lastNote(req))?.[0];
      return { content: `Done: order **${number}** was created and its 3 renders were dispatched.` };
    });
    await confirm.click();
    await page.locator('.rb-confirm-status', { hasText: 'Done' }).waitFor();
    const [order] = await rows(
      h.em(),
      z.object({ order_number: z.string() }),
      `select order_number from render_order where tenant_id = ?`,
      [acme.tenant.id],
    );
    await page.locator('.rb-assistant strong', { hasText: order!.order_number }).first().waitFor();
    expect(await page.getByRole('button', { name: 'Confirm' }).count()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/web-panel-done.png` });
    expect(
      await countOf(h.em(), `select count(*)::int as n from render_order where tenant_id = ?`, [acme.tenant.id]),
    ).toBe(1);

    // Keyboard: Escape closes and returns focus to the launcher; the launcher reopens with focus in the panel.
    await page.keyboard.press('Escape');
    await page.locator('.rb-panel.rb-open').waitFor({ state: 'detached' });
    expect(await page.evaluate('document.activeElement?.getAttribute("aria-label")')).toBe('Open RenderBot chat');
    await page.keyboard.press('Enter');
    await page.locator('.rb-panel.rb-open').waitFor();
    expect(await page.evaluate('document.activeElement?.id')).toBe('rb-input');

    // Session history: start a new conversation, reopen the old one from the selector, delete it.
    const sessionId = await page.locator('#rb-session').inputValue();
    // The renders finish on their own; wait (long-poll, as the panel does) until the completion notice is in the session.
    for (let cursor = '0'; ;) {
      const res = await fetch(`${h.base}/api/chat/sessions/${sessionId}/messages?after=${cursor}&wait=20`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { messages } = (await res.json()) as { messages: { content: string; cursor: string }[] };
      if (messages.some((m) => m.content.includes(order!.order_number) && m.content.includes('is done'))) break;
      cursor = messages.at(-1)?.cursor ?? cursor;
    }
    await page.getByRole('button', { name: 'New conversation' }).click();
    expect(await page.locator('.rb-msg').count()).toBe(0);
    await page.locator('#rb-session').selectOption(sessionId);
    await page.locator('.rb-assistant strong', { hasText: order!.order_number }).first().waitFor();
    // The order's completion notice is part of the conversation's history.
    await page.locator('.rb-assistant', { hasText: `${order!.order_number} is done` }).waitFor();
    await page.getByRole('button', { name: 'Delete conversation' }).click();
    await page.locator(`#rb-session option[value="${sessionId}"]`).waitFor({ state: 'detached' });
    expect(await page.locator('.rb-msg').count()).toBe(0);
    expect(await countOf(h.em(), `select count(*)::int as n from chat_session where id = ?`, [sessionId])).toBe(0);
    expect(problems).toEqual([]);
    h.llm.assertDone();
  });

  it('shows a 60,000-product confirmation compactly in the 384 px panel: one titled step, ids never wrap, tables scroll sideways', async () => {
    const bulk = await makeTenant(h.em(), 'bulk', { products: [] });
    await seedCategoryProducts(h.em(), bulk.tenant.id, {
      category: 'Kugellager',
      count: 60_000,
      prefix: 'BULK-KL-6204-2RS-C3',
      stem: 'Rillenkugellager 6204-2RS C3 Ausführung ',
    });
    await h.enableAi(bulk.tenant.id);
    const { page, problems } = await openPage();
    await signIn(page, await h.token(bulk.tenant.id, 'olga', 'operator'));
    h.llm.enqueue(
      {
        toolCalls: [
          {
            name: 'search_products',
            arguments: { category: 'Kugellager', query: null, material: null, limit: 10, cursor: null },
          },
        ],
      },
      {
        content: 'There are 60,000 Kugellager products. Please confirm the order:',
        toolCalls: [
          {
            name: 'create_order',
            arguments: {
              product_ids: null,
              product_filter: { category: 'Kugellager', query: null, material: null },
              output_type_name: 'WebP 1024x1024',
              submit: true,
              material_override: null,
              render_overrides: null,
            },
          },
        ],
      },
    );
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('Render all Kugellager products as WebP at 1024x1024');
    await input.press('Enter');
    await page.getByRole('button', { name: 'Confirm' }).waitFor();
    const card = page.locator('.rb-confirm');
    expect(await card.locator('h4').textContent()).toBe(
      'Create order for 60,000 products in category Kugellager and start rendering',
    );
    expect(await card.locator('ol').count()).toBe(0);
    await card.getByText('… and 59,995 more').waitFor();
    // Every PIM id (first column: 10 search rows, 5 sample rows) is laid out on one line.
    const lines =
      await page.evaluate(`[...document.querySelectorAll('#renderbot-chat .rb-table td:first-child')].map((td) => {
      const range = document.createRange();
      range.selectNodeContents(td);
      return range.getClientRects().length;
    })`);
    expect(lines).toEqual(Array(15).fill(1));
    const scrolls = await page.evaluate(
      `[...document.querySelectorAll('#renderbot-chat .rb-table-wrap')].map((w) => w.scrollWidth > w.clientWidth)`,
    );
    expect(scrolls).toContain(true);
    await page.screenshot({ path: `${SHOTS}/web-panel-confirm-60k.png` });
    expect(problems).toEqual([]);
    h.llm.assertDone();
  });

  it('renders a product named like HTML as text, not markup', async () => {
    const token = await h.token(acme.tenant.id, 'mallory', 'viewer');
    const { page, problems } = await openPage();
    await signIn(page, token);
    h.llm.enqueue(
      { toolCalls: [{ name: 'search_products', arguments: { category: null, query: 'XSS', limit: 10 } }] },
      { content: `The product is called ${XSS} — see the table.` },
    );
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('find XSS');
    await input.press('Enter');
    await page.locator('.rb-table td', { hasText: XSS }).waitFor();
    await page.locator('.rb-assistant .rb-md p', { hasText: `The product is called ${XSS}` }).waitFor();
    expect(await page.locator('#renderbot-chat img').count()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/web-panel-xss-as-text.png` });
    expect(problems).toEqual([]);
    h.llm.assertDone();
  });

  it('renders assistant markdown with react-markdown: javascript: links, images and raw HTML are inert', async () => {
    const token = await h.token(acme.tenant.id, 'mallory', 'viewer');
    const { page, problems } = await openPage();
    await signIn(page, token);
    h.llm.enqueue({
      content: [
        'Click [here](javascript:alert(1)) or [there](JAVASCRIPT:alert(2)) and read [the docs](https://docs.example.com/render?x=1).',
        `Raw: <img src=x onerror=alert(3)> <a href="javascript:alert(4)">html link</a>`,
        '![pixel](javascript:alert(5)) ![tracker](https://evil.example/p.gif)',
        '',
        '| Order | Status |',
        '|---|---|',
        '| **SA-2026-00001** | ~~queued~~ done |',
      ].join('\n'),
    });
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('show me links');
    await input.press('Enter');
    const md = page.locator('.rb-assistant .rb-md').last();
    await md.locator('.rb-table td strong', { hasText: 'SA-2026-00001' }).waitFor();
    const links = await md.locator('a').evaluateAll((as) =>
      as.map((a) => ({
        text: a.textContent,
        href: a.getAttribute('href'),
        target: a.getAttribute('target'),
        rel: a.getAttribute('rel'),
      })),
    );
    expect(links).toEqual([
      { text: 'the docs', href: 'https://docs.example.com/render?x=1', target: '_blank', rel: 'noopener noreferrer' },
      { text: 'tracker', href: 'https://evil.example/p.gif', target: '_blank', rel: 'noopener noreferrer' },
    ]);
    expect(await md.locator('p').first().textContent()).toContain('Click here or there and read the docs.');
    expect(await md.textContent()).toContain(
      'Raw: <img src=x onerror=alert(3)> <a href="javascript:alert(4)">html link</a>',
    );
    expect(await page.locator('#renderbot-chat img').count()).toBe(0);
    expect(await md.locator('br').count()).toBeGreaterThan(0);
    expect(await md.locator('.rb-table del', { hasText: 'queued' }).count()).toBe(1);
    await md.getByText('here', { exact: true }).click();
    await md.getByText('pixel', { exact: true }).click();
    expect(problems).toEqual([]);
    h.llm.assertDone();
  });

  it('shows an answer longer than any normal one as plain text: a pathological answer cannot stall the page', async () => {
    const token = await h.token(acme.tenant.id, 'mallory', 'viewer');
    const { page, problems } = await openPage();
    await signIn(page, token);
    // 36,000 characters of unclosed links: react-markdown takes many seconds on this, plain text none.
    h.llm.enqueue({ content: '[x]('.repeat(9_000) });
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('say something odd');
    await input.press('Enter');
    const plain = page.locator('.rb-assistant .rb-md pre.rb-plain').last();
    await plain.waitFor({ timeout: 10_000 });
    expect((await plain.textContent())?.length).toBe(36_000);
    // The page still answers at once.
    const started = Date.now();
    expect(await page.evaluate(() => 1 + 1)).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(problems).toEqual([]);
    h.llm.assertDone();
  });

  it('shows a friendly state when the tenant has no AI configured (signed in by a login link)', async () => {
    const { code } = await createLoginCode(h.em(), {
      tenantId: globex.tenant.id,
      userId: 'gina',
      role: 'operator',
      now: new Date(),
    });
    const { page, problems } = await openPage(420, 760);
    await page.goto(`${h.base}/chat#login=${code}`);
    await page.getByText('AI not configured — ask your admin').waitFor();
    expect(new URL(page.url()).hash).toBe('');
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('hello');
    await input.press('Enter');
    await page.locator('.rb-assistant .rb-bubble', { hasText: 'AI is not configured for Tenant globex' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/web-panel-no-ai-narrow.png` });
    expect(problems).toEqual([]);
  });

  it('a login link for someone else does not replace the signed-in person unasked: "Sign in as X instead of Y?"', async () => {
    const { page, problems } = await openPage(420, 760);
    await signIn(page, await h.token(acme.tenant.id, 'anna', 'operator'));
    await page.getByText('Tenant acme').waitFor();
    const stored = () => page.evaluate(() => sessionStorage.getItem('renderbot.token'));
    const annaToken = await stored();
    const linkFor = async (tenantId: string, userId: string) =>
      (await createLoginCode(h.em(), { tenantId, userId, role: 'operator', now: new Date() })).code;
    const question = page.getByRole('alertdialog');

    // Declined: still Anna, with her token.
    await page.goto('about:blank');
    await page.goto(`${h.base}/chat#login=${await linkFor(globex.tenant.id, 'mallory')}`);
    await question.getByText('Sign in as mallory (Tenant globex) instead of anna (Tenant acme)?').waitFor();
    expect(new URL(page.url()).hash).toBe('');
    await page.getByRole('button', { name: 'Stay signed in as anna' }).click();
    await question.waitFor({ state: 'detached' });
    expect(await stored()).toBe(annaToken);
    expect(await page.locator('#rb-title').textContent()).toContain('Tenant acme');

    // Accepted: now the other person.
    await page.goto('about:blank');
    await page.goto(`${h.base}/chat#login=${await linkFor(globex.tenant.id, 'mallory')}`);
    await page.getByRole('button', { name: 'Sign in as mallory' }).click();
    await page.getByText('AI not configured — ask your admin').waitFor();
    expect(await page.locator('#rb-title').textContent()).toContain('Tenant globex');
    const malloryToken = await stored();
    expect(malloryToken).not.toBe(annaToken);

    // A link for the person signed in already just renews the token.
    await page.goto('about:blank');
    await page.goto(`${h.base}/chat#login=${await linkFor(globex.tenant.id, 'mallory')}`);
    await page.waitForFunction((before) => sessionStorage.getItem('renderbot.token') !== before, malloryToken);
    expect(await question.count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('sends every message with an Idempotency-Key and, when the answer is lost on the way, sends it again with the same key: one turn', async () => {
    const token = await h.token(acme.tenant.id, 'ida', 'operator');
    const { page, problems } = await openPage();
    await signIn(page, token);
    const keys: string[] = [];
    let cut = false;
    await page.route('**/api/chat/messages', async (route) => {
      keys.push((await route.request().headerValue('idempotency-key')) ?? '');
      if (cut) return route.continue();
      // The server answers the first attempt, but the connection breaks before the panel reads it.
      cut = true;
      await route.fetch();
      await route.abort('connectionreset');
    });
    h.llm.enqueue({ content: 'All renderers are idle.' });
    const calls = h.llm.requests.length;
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('are the renderers idle?');
    await input.press('Enter');
    await page.locator('.rb-assistant', { hasText: 'All renderers are idle.' }).waitFor();
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[!-~]{16,}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(h.llm.requests.length - calls).toBe(1);
    expect(
      await countOf(
        h.em(),
        `select count(*)::int as n from chat_message where role = 'user' and content = 'are the renderers idle?'`,
      ),
    ).toBe(1);
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('Stop, while an answer is being worked on, aborts the model request and shows "Stopped by …"; the next message is answered', async () => {
    const token = await h.token(acme.tenant.id, 'stella', 'operator');
    const { page, problems } = await openPage(1280, 800);
    await signIn(page, token);
    let arrive!: () => void;
    const arrived = new Promise<void>((r) => {
      arrive = r;
    });
    h.llm.enqueue(() => {
      arrive();
      return { hang: true };
    });
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('which renders failed this week?');
    await input.press('Enter');
    await arrived;
    const closed = h.llm.whenClientClosed();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await closed;
    await page.locator('.rb-assistant', { hasText: 'Stopped by stella.' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/panel-stopped.png` });
    h.llm.enqueue({ content: 'None failed this week.' });
    await input.fill('and last week?');
    await input.press('Enter');
    await page.locator('.rb-assistant', { hasText: 'None failed this week.' }).waitFor();
    await page.context().close();
    expect(problems).toEqual([]);
  });
});
