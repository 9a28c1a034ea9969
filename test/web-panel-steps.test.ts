import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idRow } from '../core/db/sql.ts';
import { row } from './support/rows.ts';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { threeToolTurn } from './support/steps-script.ts';

/** Screenshots go to docs/screenshots only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree as it was. */
const SHOTS = process.env.UPDATE_SCREENSHOTS ? 'docs/screenshots' : mkdtempSync(join(tmpdir(), 'renderbot-shots-'));
const XSS = '<img src=x onerror=alert(1)>';

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

describe('steps in the chat panel (docs/design.md §12)', { timeout: 90_000 }, () => {
  it('shows a step list above the streamed text while the agent works, keeps it on the answer, and shows it again after a reload', async () => {
    const token = await h.token(acme.tenant.id, 'sam', 'operator');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(`${h.base}/chat`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();

    const [calls] = threeToolTurn();
    const answer =
      'The catalogue has three Kugellager: 6204, 6205 and 6206 2RS. You have no orders yet, and SA-2026-09999 does not exist — ' +
      'perhaps a typo? Nothing matches the odd search either. Shall I prepare an order that renders the three bearings as WebP at 1024x1024?';
    h.llm.enqueue(
      // A fourth call whose title carries tenant-typed text that looks like HTML: shown as text.
      { toolCalls: [...calls.toolCalls!, { id: 'call_xss', name: 'search_products', arguments: { query: XSS } }] },
      { content: answer, chunkDelayMs: 250 },
    );
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('ball bearings and my orders?');
    await input.press('Enter');

    // While the answer streams: the steps, ended, above the text so far.
    const live = page.locator('.rb-streaming');
    await live.locator('.rb-md').waitFor();
    expect(await live.locator('.rb-step-done').count()).toBe(3);
    expect(await live.locator('.rb-step-failed').count()).toBe(1);
    await page.screenshot({ path: `${SHOTS}/web-panel-steps.png` });

    const lines = [
      'Searching Kugellager products… — 3 found',
      'Listing orders… — 0 found',
      '✗Looking up SA-2026-09999… — No order SA-2026-09999 was found.',
      `Searching products matching “${XSS}”… — 0 found`,
    ];
    const answered = page.locator('.rb-assistant:not(.rb-streaming)', {
      hasText: 'The catalogue has three Kugellager',
    });
    await answered.waitFor();
    const shown = await answered.locator('.rb-step').allTextContents();
    for (const line of lines) expect(shown.some((s) => s.includes(line))).toBe(true);
    expect(await page.locator('#renderbot-chat img').count()).toBe(0);

    // After a reload the stored answer shows its steps again.
    const session = await row(
      h.em(),
      idRow,
      `select id from chat_session where tenant_id = ? order by created_at desc limit 1`,
      [acme.tenant.id],
    );
    await page.reload();
    await page.locator('#rb-session').selectOption(session!.id);
    const reloaded = page.locator('.rb-assistant', { hasText: 'The catalogue has three Kugellager' });
    await reloaded.waitFor();
    expect(await reloaded.locator('.rb-step').allTextContents()).toEqual(shown);
    expect(problems).toEqual([]);
    h.llm.assertDone();
    await context.close();
  });
});
