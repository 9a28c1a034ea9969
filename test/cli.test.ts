import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlm } from './fakes/llm-server.ts';
import { runCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { z } from 'zod';
import { countOf, rows } from './support/rows.ts';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'renderbot-cli-'));
});
afterAll(async () => {
  await db.drop();
});

/** Runs the real CLI in a child process against the test database. */
const cli = (args: string[], stdin = '') => runCli(args, { DATABASE_URL: db.url, DATA_DIR: dataDir }, stdin);

// Each test runs the real CLI several times, each a Node process of its own that opens the app: on a
// busy machine that takes a while. A run that hangs is reported by runCli (60 s per run) with its command.
describe('renderbot CLI', { timeout: 240_000 }, () => {
  it('creates, seeds and lists tenants', async () => {
    expect(await cli(['admin', 'tenant', 'create', '--slug', 'acme', '--name', 'ACME Lager AG'])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('Created tenant acme'),
    });
    const seeded = await cli(['demo', 'seed', '--tenant', 'acme', '--products', '60']);
    expect(seeded).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/acme: 60 products, \d+ orders, \d+ render jobs/),
    });
    expect((await cli(['admin', 'tenant', 'list'])).stdout).toMatch(/acme\s+ACME Lager AG\s+AI: not configured/);
  });

  it('answers bad flags and values with one line naming the problem and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['admin', 'tenant', 'create', '--slug', 'x'], /required option '--name <name>'/],
      [['admin', 'tenant', 'create', '--slug', 'Bad Slug', '--name', 'n'], /lowercase letters/],
      [
        ['admin', 'tenant', 'limit', '--tenant', 'acme', '--monthly-tokens', 'lots'],
        /--monthly-tokens must be a whole number/,
      ],
      [['admin', 'tenant', 'ai', '--tenant', 'acme', '--provider', 'azure', '--api-key', 'k'], /--endpoint/],
      [
        [
          'admin',
          'tenant',
          'ai',
          '--tenant',
          'nope',
          '--provider',
          'openai',
          '--base-url',
          'https://llm.example/v1',
          '--model',
          'm',
          '--api-key',
          'k',
        ],
        /No tenant with slug "nope"/,
      ],
      [['admin', 'link', 'teams', '--tenant', 'acme', '--aad-tenant', 'not-a-guid'], /--aad-tenant.*GUID/],
      [['demo', 'seed', '--products', 'many'], /--products must be a whole number/],
      [['admin', 'frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('stores AI keys encrypted and never prints them', async () => {
    const r = await cli([
      'admin',
      'tenant',
      'ai',
      '--tenant',
      'acme',
      '--provider',
      'openai',
      '--base-url',
      'https://llm.example/v1',
      '--model',
      'gpt-4o-mini',
      '--api-key',
      'sk-test-DO-NOT-PRINT',
    ]);
    expect(r).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('OpenAI-compatible API at https://llm.example/v1'),
    });
    expect(r.stdout + r.stderr).not.toContain('sk-test-DO-NOT-PRINT');
    const [row] = await rows(
      db.orm.em.fork(),
      z.object({ s: z.string(), k: z.string() }),
      `select ai_settings::text as s, ai_key_encrypted as k from tenant where slug = 'acme'`,
    );
    expect(row!.s + row!.k).not.toContain('sk-test-DO-NOT-PRINT');
    await db.orm.em
      .fork()
      .execute(`update tenant set ai_provider = null, ai_settings = null, ai_key_encrypted = null where slug = 'acme'`);
  });

  it('sets the render backend per tenant; the farm secret is stored encrypted and never printed; bad settings exit 2', async () => {
    const r = await cli([
      'admin',
      'tenant',
      'renderer',
      '--tenant',
      'acme',
      '--backend',
      'http',
      '--url',
      'https://farm.example.com/jobs',
      '--secret',
      'farm-secret-DO-NOT-PRINT',
    ]);
    expect(r).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('render farm at https://farm.example.com/jobs'),
    });
    expect(r.stdout + r.stderr).not.toContain('farm-secret-DO-NOT-PRINT');
    const [row] = await rows(
      db.orm.em.fork(),
      z.object({ b: z.string(), u: z.string(), k: z.string() }),
      `select renderer_backend as b, renderer_url as u, renderer_secret_encrypted as k from tenant where slug = 'acme'`,
    );
    expect(row).toMatchObject({ b: 'http', u: 'https://farm.example.com/jobs', k: expect.stringMatching(/^v1:/) });
    for (const [args, message] of [
      [['--backend', 'http', '--url', 'http://farm.example.com/jobs', '--secret', 'long-enough-secret'], /https/],
      [['--backend', 'http', '--url', 'https://farm.example.com/jobs'], /--secret/],
      [['--backend', 'gpu'], /backend/],
    ] as [string[], RegExp][]) {
      const bad = await cli(['admin', 'tenant', 'renderer', '--tenant', 'acme', ...args]);
      expect({ args, code: bad.code }).toEqual({ args, code: 2 });
      expect(bad.stderr).toMatch(message);
    }
    expect(await cli(['admin', 'tenant', 'renderer', '--tenant', 'acme', '--backend', 'local'])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('local preview renderer'),
    });
    const [after] = await rows(
      db.orm.em.fork(),
      z.object({ b: z.string(), k: z.string().nullable() }),
      `select renderer_backend as b, renderer_secret_encrypted as k from tenant where slug = 'acme'`,
    );
    expect(after).toEqual({ b: 'local', k: null });
  });

  it('runs a piped chat script: commands, tables and a clear no-AI answer', async () => {
    const script = [
      'help',
      'search Kugellager category:Kugellager',
      'orders completed',
      'Render all Kugellager products as WebP at 1024x1024',
      'confirm',
      'usage',
    ].join('\n');
    const r = await cli(['chat', '--tenant', 'acme', '--user', 'pia'], script);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('> search Kugellager category:Kugellager');
    expect(r.stdout).toMatch(/PIM ID\s+Name\s+Category/);
    expect(r.stdout).toMatch(/SA-\d{4}-\d{5}\s+completed/);
    expect(r.stdout).toMatch(/AI is not configured for ACME Lager AG/);
    expect(r.stdout).toContain('There is nothing waiting for confirmation');
    expect(r.stdout).toMatch(/Monthly limit\s+none/);
  });

  it('streams the model’s answer to the terminal as it is written, and prints it once', async () => {
    const llm = await startFakeLlm({ provider: 'openai', apiKey: 'sk-cli-stream-test' });
    try {
      const set = await cli([
        'admin',
        'tenant',
        'ai',
        '--tenant',
        'acme',
        '--provider',
        'openai',
        '--base-url',
        (llm.settings as { baseUrl: string }).baseUrl,
        '--model',
        (llm.settings as { model: string }).model,
        '--api-key',
        'sk-cli-stream-test',
      ]);
      expect(set.code).toBe(0);
      const answer =
        'Kugellager (ball bearings) are rolling bearings that use balls to keep the races apart. ' +
        'ACME has three of them in the catalogue: 6204, 6205 and 6206 2RS, all rendered in steel.';
      llm.enqueue({ content: answer, chunkDelayMs: 250 });
      const r = await cli(['chat', '--tenant', 'acme', '--user', 'pia'], 'what are Kugellager?');
      expect(r.code).toBe(0);
      expect(r.stdout.split(answer)).toHaveLength(2); // exactly once
      // The first part was on the terminal before the model had written the rest.
      const firstAnswerRead = r.chunks.find((c) => c.includes(answer.slice(0, 20)))!;
      expect(firstAnswerRead).not.toContain(answer.slice(-20));
      llm.assertDone();
    } finally {
      await db.orm.em
        .fork()
        .execute(
          `update tenant set ai_provider = null, ai_settings = null, ai_key_encrypted = null where slug = 'acme'`,
        );
      await llm.close();
    }
  });

  it('imports a product CSV all or nothing, reporting bad rows by line', async () => {
    const bad = join(dataDir, 'bad.csv');
    writeFileSync(
      bad,
      'pim_id,name,category\nIMP-1,Nadellager NK 20/16,Nadellager\nIMP-2,,Nadellager\n"IMP-3,Broken\n',
    );
    const refused = await cli(['admin', 'import', 'products', '--tenant', 'acme', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/line 3/);
    const count = async () =>
      countOf(db.orm.em.fork(), `select count(*)::int as n from product where pim_id like 'IMP-%'`);
    expect(await count()).toBe(0);
    const ansi = join(dataDir, 'excel-ansi.csv');
    writeFileSync(ansi, Buffer.from('pim_id;name;category\r\nIMP-1;Nadelh\u00fclse HK 2016;Nadellager\r\n', 'latin1'));
    expect(await cli(['admin', 'import', 'products', '--tenant', 'acme', ansi])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('not UTF-8'),
    });
    expect(await count()).toBe(0);
    const good = join(dataDir, 'good.csv');
    writeFileSync(
      good,
      'pim_id;name;category\r\nIMP-1;Nadellager NK 20/16;Nadellager\r\nIMP-2;"Nadelhülse HK 2016, offen";Nadellager\r\n',
    );
    expect(await cli(['admin', 'import', 'products', '--tenant', 'acme', good])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('2 new, 0 updated'),
    });
    expect(await count()).toBe(2);
  });

  it('prints the Slack app manifest with the request URLs filled in', async () => {
    const r = await cli(['manifest', 'slack', '--url', 'https://bot.example.com/']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('request_url: https://bot.example.com/slack/events');
    expect(r.stdout).toContain('command: /render');
    expect(r.stdout).not.toContain('YOUR_HOST');
    expect(await cli(['manifest', 'slack', '--url', 'http://bot.example.com'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--url must be the bot's public https base URL/),
    });
  });

  it('applies migrations idempotently', async () => {
    expect(await cli(['migrate'])).toMatchObject({ code: 0, stdout: 'Database is up to date.\n' });
  });
});
