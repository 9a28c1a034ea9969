import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { countRow } from '../core/db/sql.ts';
import { pgRow } from './support/rows.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setTenantAi } from '../core/llm/settings.ts';
import { setTenantRenderer } from '../core/renders/backends.ts';
import { deleteInstallation, saveInstallation } from '../core/tenancy/installations.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { startFakeLlm, type FakeLlm } from './fakes/llm-server.ts';
import { startFakeFarm, type FakeFarm } from './fakes/render-farm.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack-api.ts';
import { runCli, type CliRun } from './support/cli.ts';
import { createTestDatabase, freePort, type TestDatabase } from './support/db.ts';

const secretsKey = randomBytes(32);
const AI_KEY = 'sk-doctor-AI-KEY-0001';
const WRONG_AI_KEY = 'sk-doctor-WRONG-KEY-0002';
const FARM_SECRET = 'farm-doctor-SECRET-0003';
const BOT_TOKEN = 'xoxb-doctor-TOKEN-0004';
const REVOKED_TOKEN = 'xoxb-doctor-REVOKED-0005';
const SIGNING_SECRET = 'signing-doctor-SECRET-0006';
const APP_PASSWORD = 'teams-doctor-PASSWORD-0007';
const SECRETS = [
  AI_KEY,
  WRONG_AI_KEY,
  FARM_SECRET,
  BOT_TOKEN,
  REVOKED_TOKEN,
  SIGNING_SECRET,
  APP_PASSWORD,
  secretsKey.toString('base64'),
  secretsKey.toString('hex'),
];

let db: TestDatabase;
let llm: FakeLlm;
let slack: FakeSlack;
let farm: FakeFarm;
let bot: Server;
let botUrl: string;
let tenantId: string;

beforeAll(async () => {
  [db, llm, slack, farm] = await Promise.all([
    createTestDatabase(),
    startFakeLlm({ provider: 'openai', apiKey: AI_KEY }),
    startFakeSlack(),
    startFakeFarm(),
  ]);
  slack.addTeam({ token: BOT_TOKEN, teamId: 'T0DOCTOR', teamName: 'Doctor Works', botUserId: 'U0BOT', botId: 'B0BOT' });
  // The bot's public side, as a proxy in front of a running `serve` would answer.
  bot = createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404).end('{"status":"ok"}');
  });
  await new Promise<void>((r) => bot.listen(0, '127.0.0.1', r));
  botUrl = `http://127.0.0.1:${(bot.address() as { port: number }).port}`;
  const em = db.orm.em.fork();
  tenantId = (await createTenant(em, { slug: 'acme', name: 'ACME' })).id;
  await createTenant(em, { slug: 'zeta', name: 'Zeta (no AI yet)' });
  await setTenantAi(em, secretsKey, tenantId, llm.settings, AI_KEY);
  await setTenantRenderer(em, secretsKey, tenantId, { backend: 'http', url: farm.url, secret: FARM_SECRET });
});
afterAll(async () => {
  await Promise.all([db?.drop(), llm?.close(), slack?.close(), farm?.close(), new Promise((r) => bot?.close(r))]);
});

/** `renderbot doctor` against the test database and the fakes; `env` overrides. */
async function doctor(env: Record<string, string> = {}): Promise<CliRun & { lines: string[] }> {
  const run = await runCli(['doctor'], {
    DATABASE_URL: db.url,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-doctor-')),
    SECRETS_KEY: secretsKey.toString('base64'),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: slack.apiUrl,
    PUBLIC_URL: botUrl,
    PORT: String(await freePort()),
    ...env,
  });
  for (const secret of SECRETS) expect(run.stdout + run.stderr).not.toContain(secret);
  return { ...run, lines: run.stdout.trimEnd().split('\n') };
}

const line = (lines: string[], start: string) => lines.find((l) => l.startsWith(start));

describe('renderbot doctor', () => {
  it('a healthy set-up: every check ok (or skipped with the reason), exit 0', async () => {
    llm.enqueue({ content: 'O' });
    const r = await doctor();
    expect(r.lines).toEqual([
      expect.stringMatching(/^ok {3}database reachable \(PostgreSQL [\d.]+ at 127\.0\.0\.1:\d+\/rb_test_\w+\)$/),
      'ok   database migrations applied (none pending)',
      'ok   SECRETS_KEY decrypts the stored secrets (2 of 2)',
      'ok   Slack bot token (SLACK_BOT_TOKEN) works (workspace Doctor Works (T0DOCTOR))',
      'skip Teams: not configured (MicrosoftAppId unset)',
      expect.stringMatching(
        /^ok {3}model of tenant acme answers \(OpenAI-compatible API at http:\/\/127\.0\.0\.1:\d+\/v1, model gpt-4o-mini\)$/,
      ),
      'skip model of tenant zeta: no AI configured (renderbot admin tenant ai --tenant zeta …)',
      `ok   render farm of tenant acme answers (${farm.url}, HTTP 202)`,
      `ok   public URL ${botUrl}/healthz answers`,
    ]);
    expect(r.code).toBe(0);
    // The model was asked for one token, once.
    expect(llm.requests.map((q) => q.body.max_tokens)).toEqual([1]);
    llm.assertDone();
    expect(farm.received.at(-1)!.job).toEqual({ probe: true });
    expect(slack.failures).toEqual([]);
  }, 60_000);

  it('a broken set-up: each problem on its own line with the fix, exit 1', async () => {
    const em = db.orm.em.fork();
    const deadPort = await freePort();
    await setTenantAi(em, secretsKey, tenantId, llm.settings, WRONG_AI_KEY);
    await setTenantRenderer(em, secretsKey, tenantId, {
      backend: 'http',
      url: `http://127.0.0.1:${deadPort}/jobs`,
      secret: FARM_SECRET,
    });
    try {
      const started = Date.now();
      const r = await doctor({
        SLACK_BOT_TOKEN: REVOKED_TOKEN,
        PUBLIC_URL: `http://127.0.0.1:${deadPort}`,
        // A Teams app whose login endpoint does not answer.
        MicrosoftAppId: '8b1c6a0e-2f3d-4e5a-9b7c-1d2e3f4a5b6c',
        MicrosoftAppPassword: APP_PASSWORD,
        MicrosoftAppType: 'SingleTenant',
        MicrosoftAppTenantId: '0d5b2c1e-3f4a-4b6c-8d7e-9f0a1b2c3d4e',
        ToChannelFromBotLoginUrl: `https://127.0.0.1:${deadPort}/0d5b2c1e-3f4a-4b6c-8d7e-9f0a1b2c3d4e`,
        ToChannelFromBotOAuthScope: 'https://api.botframework.com',
        ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
        ToBotFromChannelOpenIdMetadataUrl: `https://127.0.0.1:${deadPort}/openid`,
      });
      expect(r.code).toBe(1);
      expect(line(r.lines, 'ok   SECRETS_KEY')).toBeDefined();
      expect(line(r.lines, 'FAIL Slack bot token (SLACK_BOT_TOKEN)')).toBe(
        "FAIL Slack bot token (SLACK_BOT_TOKEN): Slack answers invalid_auth — set SLACK_BOT_TOKEN to the app's current Bot User OAuth Token (xoxb-…, under OAuth & Permissions); reinstall the app if it was revoked",
      );
      expect(line(r.lines, 'FAIL model of tenant acme')).toMatch(
        /^FAIL model of tenant acme: the provider refused the API key \(OpenAI-compatible API at .+\) — store the right key: renderbot admin tenant ai --tenant acme … --api-key …$/,
      );
      expect(line(r.lines, 'FAIL render farm of tenant acme')).toBe(
        `FAIL render farm of tenant acme: http://127.0.0.1:${deadPort}/jobs is not reachable: ECONNREFUSED — check that the farm runs and the URL is right (renderbot admin tenant renderer --tenant acme --backend http --url … --secret …)`,
      );
      expect(line(r.lines, 'FAIL Teams app 8b1c6a0e-2f3d-4e5a-9b7c-1d2e3f4a5b6c')).toMatch(
        /: no Bot Framework token: .+ — check MicrosoftAppPassword/,
      );
      // The bot is not running here: a warning with the fix, which does not fail the run by itself.
      expect(line(r.lines, 'warn public URL')).toBe(
        `warn public URL http://127.0.0.1:${deadPort}/healthz: not reachable (ECONNREFUSED) — start the bot (npm start) and run renderbot doctor again while it runs: doctor can run next to serve`,
      );
      expect(r.lines.filter((l) => l.startsWith('FAIL'))).toHaveLength(4);
      // The network checks run concurrently, each with its own time limit.
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await setTenantAi(em, secretsKey, tenantId, llm.settings, AI_KEY);
      await setTenantRenderer(em, secretsKey, tenantId, { backend: 'http', url: farm.url, secret: FARM_SECRET });
    }
  }, 60_000);

  it('a wrong SECRETS_KEY: the stored secrets it cannot decrypt are named, the checks that need them skip, exit 1', async () => {
    const r = await doctor({ SECRETS_KEY: randomBytes(32).toString('hex') });
    expect(r.code).toBe(1);
    expect(line(r.lines, 'FAIL SECRETS_KEY')).toBe(
      'FAIL SECRETS_KEY: cannot decrypt 2 of 2 stored secrets (AI key of tenant acme, render-farm secret of tenant acme) — set SECRETS_KEY (or DATA_DIR/secrets.key) back to the key they were stored with, or store them again: renderbot admin tenant ai / renderer …, reinstall Slack via /slack/install',
    );
    expect(r.lines).toContain('skip model of tenant acme: its API key cannot be decrypted (see SECRETS_KEY)');
    expect(r.lines).toContain(
      'skip render farm of tenant acme: its shared secret cannot be decrypted (see SECRETS_KEY)',
    );
    expect(r.lines.filter((l) => l.startsWith('FAIL'))).toHaveLength(1);
  }, 60_000);

  it("OAuth mode: every installation's bot token is checked", async () => {
    const em = db.orm.em.fork();
    await saveInstallation(em, secretsKey, {
      teamId: 'T0DOCTOR',
      teamName: 'Doctor Works',
      secret: { team: { id: 'T0DOCTOR' }, bot: { token: BOT_TOKEN } },
    });
    await saveInstallation(em, secretsKey, {
      teamId: 'T0GONE',
      teamName: 'Gone GmbH',
      secret: { team: { id: 'T0GONE' }, bot: { token: REVOKED_TOKEN } },
    });
    try {
      llm.enqueue({ content: 'O' });
      const r = await doctor({
        SLACK_BOT_TOKEN: '',
        SLACK_CLIENT_ID: '123.456',
        SLACK_CLIENT_SECRET: 'client-doctor-SECRET',
        SLACK_STATE_SECRET: 'state-doctor-SECRET',
      });
      expect(r.lines).toContain('ok   SECRETS_KEY decrypts the stored secrets (4 of 4)');
      expect(r.lines).toContain('ok   Slack workspace Doctor Works (T0DOCTOR) works');
      expect(r.lines).toContain(
        `FAIL Slack workspace Gone GmbH (T0GONE): Slack answers invalid_auth — reinstall the app in that workspace via ${botUrl}/slack/install`,
      );
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).not.toMatch(/client-doctor-SECRET|state-doctor-SECRET/);
      llm.assertDone();
    } finally {
      for (const teamId of ['T0DOCTOR', 'T0GONE']) await deleteInstallation(em, { teamId });
    }
  }, 60_000);

  it('pending migrations: a fresh database fails with "run renderbot migrate"', async () => {
    const name = `rb_doctor_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    await admin.query(`create database ${name}`);
    try {
      const url = new URL(inject('pgAdminUrl'));
      url.pathname = `/${name}`;
      const r = await doctor({ DATABASE_URL: url.toString() });
      expect(r.code).toBe(1);
      expect(line(r.lines, 'FAIL database migrations')).toMatch(
        /^FAIL database migrations: \d+ pending \(Migration\w+ … Migration\w+\) — run renderbot migrate/,
      );
      expect(r.lines).toContain('skip SECRETS_KEY: the database is not ready (see above)');
      // Reading only: doctor created nothing in it.
      const fresh = new pg.Client({ connectionString: url.toString() });
      await fresh.connect();
      try {
        const tables = await pgRow(
          fresh,
          countRow,
          `select count(*)::int as n from pg_tables where schemaname = 'public'`,
        );
        expect(tables).toEqual({ n: 0 });
      } finally {
        await fresh.end();
      }
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  }, 60_000);
});
