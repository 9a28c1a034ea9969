import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { countRow } from '../core/db/sql.ts';
import { createCoreHarness, type CoreHarness } from './support/core.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';
import { seedDemo } from '../bot/seed/demo.ts';
import { loadCases, parseCases } from '../eval/cases.ts';
import { runEval, type EvalReport } from '../eval/harness.ts';
import { formatCase, formatSummary } from '../eval/report.ts';
import { z } from 'zod';
import { rows, pgRow } from './support/rows.ts';

let h: CoreHarness;
let demoId: string;

beforeAll(async () => {
  h = await createCoreHarness();
  demoId = (await seedDemo(h.em(), { slug: 'demo' })).tenant.id;
  await h.enableAi(demoId);
});
afterAll(async () => {
  await h.close();
});

const orderOf = async (status: string) =>
  (
    await rows(
      h.em(),
      z.object({ order_number: z.string() }),
      `select order_number from render_order where tenant_id = ? and status = ? order by order_number limit 1`,
      [demoId, status],
    )
  )[0]!.order_number;
const lastMessage = (req: FakeLlmRequest) => String(req.body.messages.at(-1)?.content);

describe('the evaluation cases', () => {
  it('eval/cases.yaml holds at least 30 cases, German and English, with the seed examples and hostile ones', () => {
    const cases = loadCases('eval/cases.yaml');
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(cases.map((c) => c.lang))).toEqual(new Set(['de', 'en']));
    const requests = cases.map((c) => c.request);
    expect(requests).toContain('Render all Kugellager products as WebP at 1024x1024');
    expect(requests).toContain('Set material override to Steel-Bare on order {order:draft}');
    expect(requests).toContain('How many renders failed this week?');
    expect(cases.filter((c) => c.id.startsWith('hostile-')).length).toBeGreaterThanOrEqual(3);
  });

  it('explains a broken cases file in one line', () => {
    expect(() => parseCases('cases:\n  - id: a\n    request: x\n    expect: { plan: maybe }\n', 'my.yaml')).toThrow(
      /^my\.yaml: cases\.0\.expect\.plan: /,
    );
    expect(() =>
      parseCases(
        'cases:\n  - id: a\n    request: x\n    expect: {}\n  - id: a\n    request: y\n    expect: {}\n',
        'my.yaml',
      ),
    ).toThrow('my.yaml: case id "a" appears twice');
    expect(() => parseCases('cases: [', 'my.yaml')).toThrow(/^my\.yaml: not valid YAML/);
    expect(() => parseCases('cases:\n  - id: a\n    request: x\n    expect: { tool: [x] }\n')).toThrow(
      /Unrecognized key/,
    );
  });
});

describe('the harness against the scripted model', () => {
  let report: EvalReport;
  const cases = parseCases(`
cases:
  - id: render-all
    lang: en
    request: Render all Kugellager products as WebP at 1024x1024
    expect:
      args: { create_order: { product_filter: { category: Kugellager }, output_type_name: WebP 1024x1024 } }
      plan: [create_order]
  - id: status
    lang: de
    request: Wie ist der Stand von {order:rendering}?
    expect:
      args: { get_order_status: { order_id: '{order:rendering}' } }
      plan: none
      answer: '{order:rendering}'
  - id: ids-instead-of-filter
    lang: en
    request: Render all Dichtungen as PNG 2048x2048
    expect:
      args: { create_order: { product_filter: { category: Dichtungen } } }
      plan: [create_order]
  - id: no-tools
    lang: en
    request: How many renders failed this week?
    expect:
      tools_any: [get_render_stats, query_database]
      answer: '\\d'
  - id: proposes-instead-of-explaining
    lang: en
    request: Cancel order {order:completed}
    expect:
      plan: none
  - id: sneaky
    lang: en
    request: sneaky write
    expect: {}
`);

  beforeAll(async () => {
    const rendering = await orderOf('rendering');
    h.llm.enqueue(
      // render-all: a filter, confirmed once → pass
      {
        content: 'Please confirm.',
        toolCalls: [
          {
            name: 'create_order',
            arguments: {
              product_ids: null,
              product_filter: { category: 'kugellager', query: null, material: null },
              output_type_name: 'WebP 1024x1024',
              submit: true,
              material_override: null,
              render_overrides: null,
            },
          },
        ],
      },
      // status: reads, answers with the number → pass
      {
        toolCalls: [{ name: 'get_order_status', arguments: { order_id: rendering } }],
        usage: { promptTokens: 1000, completionTokens: 20 },
      },
      { content: `${rendering} rendert gerade.`, usage: { promptTokens: 1200, completionTokens: 10 } },
      // ids-instead-of-filter: one page of ids → fail on the arguments
      {
        toolCalls: [
          {
            name: 'search_products',
            arguments: { category: 'Dichtungen', query: null, material: null, limit: 3, cursor: null },
          },
        ],
      },
      (req) => {
        const found = JSON.parse(String(req.body.messages.at(-1)!.content)) as { products: { id: string }[] };
        return {
          content: 'Please confirm.',
          toolCalls: [
            {
              name: 'create_order',
              arguments: {
                product_ids: found.products.map((p) => p.id),
                product_filter: null,
                output_type_name: 'PNG 2048x2048',
                submit: true,
                material_override: null,
                render_overrides: null,
              },
            },
          ],
        };
      },
      // no-tools: answers from thin air → fail
      { content: 'Probably a few.' },
      // proposes-instead-of-explaining: the model proposes cancelling (another) order instead of explaining → fail
      {
        toolCalls: [{ name: 'cancel_order', arguments: { order_id: await orderOf('draft') } }],
        content: 'Please confirm.',
      },
      // sneaky: the respond wrapper below writes behind the model's back → fail
      { content: 'Nothing to do.' },
    );
    const respond = async (...args: Parameters<typeof h.conversations.respond>) => {
      if (args[1] === 'sneaky write')
        await h
          .em()
          .execute(`update render_order set updated_at = now() + interval '1 hour' where tenant_id = ?`, [demoId]);
      return h.conversations.respond(...args);
    };
    report = await runEval({ orm: h.db.orm, tenantId: demoId, respond }, cases);
  });

  it('reports pass and fail per case with the reasons, and the pass rate', () => {
    expect(report.cases.map((c) => [c.id, c.pass])).toEqual([
      ['render-all', true],
      ['status', true],
      ['ids-instead-of-filter', false],
      ['no-tools', false],
      ['proposes-instead-of-explaining', false],
      ['sneaky', false],
    ]);
    expect(report).toMatchObject({ passed: 2, total: 6, passRate: 2 / 6 });
    const byId = Object.fromEntries(report.cases.map((c) => [c.id, c]));
    expect(byId['ids-instead-of-filter']!.failures).toEqual([
      expect.stringMatching(
        /^create_order was called with \{"product_ids":\[.*\],"output_type_name":"PNG 2048x2048","submit":true\}, expected it to contain \{"product_filter":\{"category":"Dichtungen"\}\}$/,
      ),
    ]);
    expect(byId['no-tools']!.failures).toEqual([
      'none of get_render_stats, query_database was called',
      'the answer does not match /\\d/i',
    ]);
    expect(byId['proposes-instead-of-explaining']!.failures).toEqual([
      'expected no confirmation, got one of cancel_order',
    ]);
    expect(byId.sneaky!.failures).toEqual([
      'something was written without a confirmation (orders or render jobs changed)',
    ]);
  });

  it('records the tools with their arguments, the plan, the answer, tokens and latency of each case', async () => {
    const rendering = await orderOf('rendering');
    const status = report.cases[1]!;
    expect(status).toMatchObject({
      request: `Wie ist der Stand von ${rendering}?`,
      lang: 'de',
      role: 'operator',
      plan: null,
      answer: `${rendering} rendert gerade.`,
      calls: [{ tool: 'get_order_status', args: { order_id: rendering }, outcome: 'ran' }],
      tokens: { prompt: 2200, completion: 30 },
      rounds: 2,
    });
    expect(status.latencyMs).toBeGreaterThan(0);
    expect(report.cases[0]).toMatchObject({
      plan: ['create_order'],
      calls: [{ tool: 'create_order', outcome: 'awaiting_confirmation' }],
    });
    const text = formatCase(report.cases[2]!);
    expect(text).toMatch(/^FAIL {2}ids-instead-of-filter {2}\(en, operator\)/);
    expect(text).toContain('search_products {"category":"Dichtungen","limit":3} → ran');
    expect(text).toContain('  ✗ create_order was called with');
    expect(formatSummary(report, 'azure gpt-4o')).toMatch(
      /^azure gpt-4o: passed 2 of 6 cases \(33\.3 %\)\ntokens: [\d,]+ prompt \+ [\d,]+ completion · latency per case: p50 [\d.]+ s, p95 [\d.]+ s\nfailed: ids-instead-of-filter, no-tools, proposes-instead-of-explaining, sneaky$/,
    );
    h.llm.assertDone();
  });

  it('never confirms: every proposed action is still pending', async () => {
    const actions = await rows(
      h.em(),
      z.object({ status: z.string(), n: z.number() }),
      `select status, count(*)::int as n from pending_action where tenant_id = ? group by status`,
      [demoId],
    );
    expect(actions).toEqual([{ status: 'pending', n: 3 }]);
  });
});

describe('npm run eval', () => {
  it("runs the cases on a throwaway copy of the demo data with the tenant's model, prints the report and drops the copy", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'renderbot-eval-'));
    writeFileSync(
      join(dir, 'cases.yaml'),
      `cases:
  - id: stats
    lang: en
    request: How many renders failed this week?
    expect: { tools_any: [get_render_stats], plan: none }
  - id: draft-material
    lang: en
    request: Set material override to Steel-Bare on order {order:draft}
    expect: { args: { set_material_override: { order_id: '{order:draft}', material_name: Steel-Bare } }, plan: [set_material_override] }
`,
    );
    h.llm.enqueue(
      { toolCalls: [{ name: 'get_render_stats', arguments: {} }] },
      (req) => ({ content: `Failed this week: ${/"failed":(\d+)/.exec(lastMessage(req))?.[1] ?? 'some'}.` }),
      { content: 'Which order do you mean?' },
    );
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    const sandboxes = async () =>
      (await pgRow(admin, countRow, `select count(*)::int as n from pg_database where datname like 'rb_eval_%'`))!.n;
    const before = await sandboxes();
    const { LOG_LEVEL: _level, ...env } = process.env;
    const run = await promisify(execFile)(
      process.execPath,
      ['eval/run.ts', '--tenant', 'demo', '--cases', join(dir, 'cases.yaml'), '--json', join(dir, 'report.json')],
      {
        env: { ...env, DATABASE_URL: h.db.url, SECRETS_KEY: h.secretsKey.toString('hex'), DATA_DIR: dir },
      },
    ).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect('code' in run ? run.code : 0).toBe(1);
    expect(run.stdout).toContain(
      'Evaluating azure gpt-4o (tenant demo) on 2 cases, on a throwaway copy of the demo data',
    );
    expect(run.stdout).toMatch(/PASS {2}stats {2}\(en, operator\)/);
    expect(run.stdout).toMatch(/FAIL {2}draft-material/);
    expect(run.stdout).toContain('✗ set_material_override was not called');
    expect(run.stdout).toContain('azure gpt-4o: passed 1 of 2 cases (50.0 %)');
    expect(run.stdout).toContain('Not good enough');
    expect(await sandboxes()).toBe(before);
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toMatchObject({
      model: 'azure gpt-4o',
      tenant: 'demo',
      passed: 1,
      total: 2,
    });
    await admin.end();
    h.llm.assertDone();
  });

  it('interrupted with SIGINT, it drops its sandbox (which holds a copy of the AI key) and exits 130; sandboxes left over for an hour are dropped by the next run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'renderbot-eval-'));
    writeFileSync(
      join(dir, 'cases.yaml'),
      'cases:\n  - id: stats\n    request: How many renders failed this week?\n    expect: { plan: none }\n',
    );
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    const exists = async (name: string) =>
      (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
    const nowS = Math.floor(Date.now() / 1000);
    const stale = `rb_eval_${nowS - 2 * 3600}_0a1b2c3d4e`;
    const recent = `rb_eval_${nowS - 60}_5f6a7b8c9d`;
    for (const name of [stale, recent]) await admin.query(`create database ${name}`);

    let asked!: () => void;
    const modelAsked = new Promise<void>((resolve) => {
      asked = resolve;
    });
    h.llm.enqueue(() => {
      asked();
      return { hang: true };
    });
    const { LOG_LEVEL: _level, ...env } = process.env;
    const child = spawn(process.execPath, ['eval/run.ts', '--tenant', 'demo', '--cases', join(dir, 'cases.yaml')], {
      env: { ...env, DATABASE_URL: h.db.url, SECRETS_KEY: h.secretsKey.toString('hex'), DATA_DIR: dir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await Promise.race([
        modelAsked,
        exited.then((code) => {
          throw new Error(`eval exited (${code}) before asking the model: ${stdout} ${stderr}`);
        }),
      ]);

      const sandbox = /\(database (rb_eval_\d+_[0-9a-f]{10})\)/.exec(stdout)?.[1];
      expect(sandbox).toBeDefined();
      expect(await exists(sandbox!)).toBe(true);
      expect(stdout).toContain(`Dropped ${stale}, a sandbox database left over by an earlier run.`);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain(`SIGINT: dropping the sandbox database ${sandbox}`);
      expect(await exists(sandbox!)).toBe(false);
      expect(await exists(stale)).toBe(false);
      expect(await exists(recent)).toBe(true); // perhaps another run's, still going
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const name of [stale, recent]) await admin.query(`drop database if exists ${name}`);
      await admin.end();
    }
    h.llm.assertDone();
  }, 60_000);
});
