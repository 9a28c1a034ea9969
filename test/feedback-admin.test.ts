import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../bot/app.ts';
import { createAppMetrics } from '../bot/metrics.ts';
import { recordFeedback } from '../core/history/feedback.ts';
import { appendMessage, startTurnWithMessage } from '../core/history/messages.ts';
import { parseCases } from '../eval/cases.ts';
import { runCli } from './support/cli.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.ts';
import { makeTenant, makeTurn, type TenantFixture } from './support/fixtures.ts';

let db: TestDatabase;
let app: App;
let dataDir: string;
let acme: TenantFixture;
const answers: Record<string, string> = {};

/** Stores one agent turn as the agent would (request, a tool call and its result, the answer) and returns the answer's id. */
async function storeTurn(t: TenantFixture, request: string, tool: string, answer: string): Promise<string> {
  const em = app.db.orm.em.fork();
  const turn = await makeTurn(em, t.tenant.id);
  await startTurnWithMessage(
    em,
    { tenantId: t.tenant.id, sessionId: turn.sessionId, userId: 'alice', content: request },
    [],
  );
  const usage = { promptTokens: 100, completionTokens: 10, month: '2026-12-01' };
  await appendMessage(em, {
    tenantId: t.tenant.id,
    sessionId: turn.sessionId,
    role: 'assistant',
    content: '',
    toolCalls: [{ id: 'call_1', name: tool, arguments: '{}' }],
    usage,
  });
  await appendMessage(em, {
    tenantId: t.tenant.id,
    sessionId: turn.sessionId,
    role: 'tool',
    toolCallId: 'call_1',
    toolName: tool,
    content: '{"ok":true}',
  });
  const id = randomUUID();
  await appendMessage(em, {
    id,
    model: 'gpt-4o',
    tenantId: t.tenant.id,
    sessionId: turn.sessionId,
    role: 'assistant',
    content: answer,
    usage,
    reply: { blocks: [{ type: 'text', text: answer }], answer: { id, sources: [] } },
  });
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'renderbot-feedback-'));
  app = await createApp(testConfig(db), silentLog, { worker: false });
  const em = app.db.orm.em.fork();
  acme = await makeTenant(em, 'acme');
  const globex = await makeTenant(em, 'globex', { prefix: 'GLOBEX' });
  answers.bad = await storeTurn(
    acme,
    'Wie viele Renders sind diese Woche fehlgeschlagen?',
    'list_orders',
    'Es gibt 3 Aufträge.',
  );
  answers.good = await storeTurn(acme, 'Status von SA-2026-00160?', 'get_order_status', 'SA-2026-00160 rendert noch.');
  answers.foreign = await storeTurn(globex, 'globex question', 'search_products', 'globex answer');
  const web = (userId: string, tenantId: string) => ({ tenantId, platform: 'web' as const, userId });
  expect(
    await recordFeedback(em, {
      ...web('alice', acme.tenant.id),
      answerId: answers.bad!,
      rating: 'down',
      reason: 'Counted orders, not failed renders.\u001b[31m',
    }),
  ).toBe('saved');
  expect(await recordFeedback(em, { ...web('bob', acme.tenant.id), answerId: answers.good!, rating: 'up' })).toBe(
    'saved',
  );
  expect(
    await recordFeedback(em, { ...web('gus', globex.tenant.id), answerId: answers.foreign!, rating: 'down' }),
  ).toBe('saved');
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const cli = (args: string[]) => runCli(args, { DATABASE_URL: db.url, DATA_DIR: dataDir });

/** Runs `node eval/run.ts …` (what `npm run eval --` runs) against the test database. */
function evalRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['eval/run.ts', ...args], {
      env: { ...process.env, DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('feedback reaches someone', { timeout: 180_000 }, () => {
  it("admin feedback lists the tenant's feedback (only 👎 with --negative), without terminal escapes; admin usage counts it", async () => {
    const all = await cli(['admin', 'feedback', '--tenant', 'acme', '--since', '7d']);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^2 feedback entries for acme since/);
    expect(all.stdout).toContain('👎  web alice  model gpt-4o  tools list_orders  200+20 tokens');
    expect(all.stdout).toContain('  asked:  Wie viele Renders sind diese Woche fehlgeschlagen?');
    expect(all.stdout).toContain('  reason: Counted orders, not failed renders. [31m');
    expect(all.stdout).not.toContain('\u001b');
    expect(all.stdout).toContain('👍  web bob');
    expect(all.stdout).not.toContain('globex');

    const negative = await cli(['admin', 'feedback', '--tenant', 'acme', '--negative']);
    expect(negative.stdout).toMatch(/^1 negative feedback entry for acme/);
    expect(negative.stdout).not.toContain('bob');

    const bad = await cli(['admin', 'feedback', '--tenant', 'acme', '--since', 'last week']);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('--since must be a span like 7d') });

    expect((await cli(['admin', 'usage', '--tenant', 'acme'])).stdout).toContain('feedback this month: 1 👍, 1 👎');
  });

  it('/metrics counts feedback of all tenants by rating', async () => {
    const text = await createAppMetrics(app).text();
    expect(text).toContain('renderbot_answer_feedback{rating="up"} 1');
    expect(text).toContain('renderbot_answer_feedback{rating="down"} 2');
  });

  it('eval --from-feedback writes the 👎 turns as draft cases that load as cases', async () => {
    const out = join(dataDir, 'drafts.yaml');
    const run = await evalRun(['--from-feedback', '--tenant', 'acme', '--out', out]);
    expect(run.stderr).toBe('');
    expect(run).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(`Wrote 1 draft case from 👎 feedback of acme to ${out}`),
    });
    const cases = parseCases(readFileSync(out, 'utf8'), out);
    expect(cases).toEqual([
      {
        id: `feedback-${answers.bad!.slice(0, 8)}`,
        request: 'Wie viele Renders sind diese Woche fehlgeschlagen?',
        role: 'operator',
        note: expect.stringMatching(
          /^👎 on web \(\d{4}-\d{2}-\d{2}, model gpt-4o\): "Counted orders, not failed renders\.\u001b\[31m"\. The answer called list_orders and said: "Es gibt 3 Aufträge\."$/,
        ),
        expect: {},
      },
    ]);
  });
});
