import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../bot/app.ts';
import { startHttpServer } from '../bot/server.ts';
import { createSlackChannel } from '../bot/slack.ts';
import { PLACEHOLDER_TEXT } from '../adapters/slack/messages.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { linkWorkspace } from '../core/tenancy/links.ts';
import { startFakeLlm, type FakeLlm } from './fakes/llm-server.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack-api.ts';
import { SIGNING_SECRET, TEAM } from './fakes/slack-harness.ts';
import { createSlackSender, mentionEvent } from './fakes/slack-request.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.ts';
import { makeTenant } from './support/fixtures.ts';

let db: TestDatabase;
let slack: FakeSlack;
let llm: FakeLlm;
let intake: App;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let worker: ChildProcess;

beforeAll(async () => {
  db = await createTestDatabase();
  slack = await startFakeSlack();
  slack.addTeam(TEAM);
  llm = await startFakeLlm({ provider: 'azure' });
  const env = {
    SECRETS_KEY: randomBytes(32).toString('hex'),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_BOT_TOKEN: TEAM.token,
  };
  const config = testConfig(db, env);
  // `renderbot serve --no-worker`: HTTP intake only …
  intake = await createApp(config, silentLog, { worker: false });
  const channel = (await createSlackChannel(intake))!;
  http = await startHttpServer(intake, 0, channel.routes);
  const acme = await makeTenant(intake.db.orm.em.fork(), 'acme');
  await linkWorkspace(intake.db.orm.em.fork(), acme.tenant.id, 'slack', TEAM.teamId);
  await setTenantAi(intake.db.orm.em.fork(), config.secretsKey, acme.tenant.id, llm.settings, llm.apiKey);
  // … and `renderbot worker` as a process of its own against the same database.
  worker = spawn(process.execPath, ['bot/cli.ts', 'worker'], {
    env: {
      ...process.env,
      ...env,
      DATABASE_URL: db.url,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-worker-')),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
});
afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await http?.close();
  await intake?.close();
  await llm?.close();
  await slack?.close();
  await db?.drop();
});

describe('scale-out: HTTP intake and a separate `renderbot worker` process', () => {
  it('the worker process answers a turn the intake queued, in the Slack thread, replacing the placeholder', async () => {
    llm.enqueue({ content: 'Answered by the worker process.' });
    const send = createSlackSender(`http://127.0.0.1:${http.port}`, SIGNING_SECRET);
    const env = mentionEvent(
      { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' },
      'who answers this?',
      { botUserId: TEAM.botUserId },
    );
    expect((await send.event(env)).status).toBe(200);
    const placeholder = await slack.waitFor(
      'chat.postMessage',
      (c) => c.body.thread_ts === env.event.ts && c.body.text === PLACEHOLDER_TEXT,
    );
    const answer = await slack.waitFor('chat.update', (c) => c.body.ts === placeholder.response!.ts, {
      timeoutMs: 60_000,
    });
    expect(answer.body.text).toBe('Answered by the worker process.');
    expect(answer.token).toBe(TEAM.token);
    llm.assertDone();
    expect(slack.failures).toEqual([]);
  }, 90_000);
});
