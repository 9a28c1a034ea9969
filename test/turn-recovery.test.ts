import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PLACEHOLDER_TEXT } from '../adapters/slack/messages.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { linkWorkspace } from '../core/tenancy/links.ts';
import { echoStep, startFakeLlm, type FakeLlm, type FakeLlmRequest, type FakeStep } from './fakes/llm-server.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack-api.ts';
import { SIGNING_SECRET, TEAM } from './fakes/slack-harness.ts';
import { createSlackSender, mentionEvent } from './fakes/slack-request.ts';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startServe, type ServeProcess } from './support/serve.ts';
import { waitFor } from './support/renders.ts';
import { countOf, rows } from './support/rows.ts';
import { z } from 'zod';

/*
 * No lost turns (docs/design.md §4, issue 11): `renderbot serve` processes are killed or stopped while
 * turns wait on the model; another process on the same database answers each of them exactly
 * once, editing the "working on it" message that was already posted.
 */

let db: TestDatabase;
let slack: FakeSlack;
let llm: FakeLlm;
let acme: TenantFixture;
let env: Record<string, string>;
const processes: ServeProcess[] = [];
let channelSeq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  slack = await startFakeSlack();
  slack.addTeam(TEAM);
  llm = await startFakeLlm({ provider: 'azure' });
  const secretsKey = randomBytes(32).toString('hex');
  env = {
    DATABASE_URL: db.url,
    SECRETS_KEY: secretsKey,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-recovery-')),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_BOT_TOKEN: TEAM.token,
    TURN_LEASE_SECONDS: '5',
  };
  const config = testConfig(db, env);
  acme = await makeTenant(db.orm.em.fork(), 'acme');
  await linkWorkspace(db.orm.em.fork(), acme.tenant.id, 'slack', TEAM.teamId);
  await setTenantAi(db.orm.em.fork(), config.secretsKey, acme.tenant.id, llm.settings, llm.apiKey);
});
afterEach(async () => {
  for (const p of processes.splice(0)) await p.kill();
});
afterAll(async () => {
  await llm?.close();
  await slack?.close();
  await db?.drop();
});

async function serve(): Promise<ServeProcess> {
  const p = await startServe(env);
  processes.push(p);
  return p;
}

/** A step that answers nothing until the connection is cut, and tells when its request arrived. */
function hanging(): { step: FakeStep; arrived: Promise<FakeLlmRequest> } {
  let arrive!: (r: FakeLlmRequest) => void;
  const arrived = new Promise<FakeLlmRequest>((r) => {
    arrive = r;
  });
  return {
    step: (req) => {
      arrive(req);
      return { hang: true };
    },
    arrived,
  };
}

/** The answer to a request: "answer to <its last user message>". */
const echo: FakeStep = echoStep();

/** Sends a mention in a new channel thread and resolves with the thread and its "working on it" placeholder. */
async function mention(to: ServeProcess, text: string) {
  const who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: `C0RECOV${String(++channelSeq).padStart(3, '0')}` };
  const event = mentionEvent(who, text, { botUserId: TEAM.botUserId });
  expect((await createSlackSender(to.base, SIGNING_SECRET).event(event)).status).toBe(200);
  const placeholder = await slack.waitFor(
    'chat.postMessage',
    (c) => c.body.channel === who.channel && c.body.text === PLACEHOLDER_TEXT,
  );
  return {
    channel: who.channel,
    threadTs: String(event.event.ts),
    placeholderTs: String(placeholder.response!.ts),
    text,
  };
}

const undone = () => countOf(db.orm.em.fork(), `select count(*)::int as n from turn_inbox where done_at is null`);

describe('a process killed while its turns wait on the model', () => {
  it('SIGKILL: a second process takes the sessions over once their leases expire and answers each turn exactly once, in place', async () => {
    const waits = [hanging(), hanging(), hanging()];
    llm.enqueue(...waits.map((w) => w.step));
    const first = await serve();
    const threads = [];
    for (const text of ['how many renders failed today', 'which orders are rendering', 'what does SA-2026-00160 cost'])
      threads.push(await mention(first, text));
    await Promise.all(waits.map((w) => w.arrived));
    const killed = await first.kill('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const postsBefore = slack.callsOf('chat.postMessage').length;

    llm.enqueue(echo, echo, echo);
    await serve();
    for (const t of threads) {
      const answer = await slack.waitFor(
        'chat.update',
        (c) => c.body.ts === t.placeholderTs && c.body.text === `answer to ${t.text}`,
        { timeoutMs: 30_000 },
      );
      expect(answer.body.channel).toBe(t.channel);
      // One message in the thread: the placeholder, now the answer.
      expect(slack.messages(t.channel, t.threadTs).map((m) => m.text)).toEqual([`answer to ${t.text}`]);
    }
    expect(slack.callsOf('chat.postMessage').length).toBe(postsBefore);
    // Each message was stored once and answered once.
    const counts = await rows(
      db.orm.em.fork(),
      z.object({ role: z.string(), n: z.number() }),
      `select m.role, count(*)::int as n from chat_message m join chat_session s on s.id = m.session_id
      where s.key like ? group by m.role order by m.role`,
      [`${TEAM.teamId}:C0RECOV%`],
    );
    expect(counts).toEqual([
      { role: 'assistant', n: 3 },
      { role: 'user', n: 3 },
    ]);
    // Marked done right after their delivery (another process's commit: nothing to await but the row).
    await waitFor(async () => (await undone()) === 0 || undefined, 'the answered turns to be marked done');
    llm.assertDone();
    expect(slack.failures).toEqual([]);
  }, 90_000);

  it('SIGKILL between two tool rounds: the resumed turn does not ask the model for the first round again', async () => {
    const second = hanging();
    llm.enqueue({ toolCalls: [{ name: 'list_orders', arguments: { status: null, limit: null } }] }, second.step);
    const first = await serve();
    const t = await mention(first, 'list the orders please');
    await second.arrived;
    await first.kill('SIGKILL');

    let resumed: FakeLlmRequest | undefined;
    llm.enqueue((req) => {
      resumed = req;
      return { content: 'There are no orders yet.' };
    });
    await serve();
    // The first attempt streamed its step into the thread: the answer replaces that message (its stream stopped first) and the placeholder goes.
    const streamed = await slack.waitFor('chat.startStream', (c) => c.body.thread_ts === t.threadTs);
    await slack.waitFor(
      'chat.update',
      (c) => c.body.ts === streamed.response!.ts && c.body.text === 'There are no orders yet.',
      { timeoutMs: 30_000 },
    );
    await waitFor(async () => (await undone()) === 0 || undefined, 'the answered turn to be marked done');
    // The resumed request carries the stored first round: the tool call and its result.
    const messages = resumed!.body.messages;
    const call = messages.find((m) => m.role === 'assistant' && Array.isArray(m.tool_calls)) as
      { tool_calls: { id: string; function: { name: string } }[] } | undefined;
    expect(call?.tool_calls.map((c) => c.function.name)).toEqual(['list_orders']);
    expect(messages.some((m) => m.role === 'tool' && m.tool_call_id === call!.tool_calls[0]!.id)).toBe(true);
    expect(slack.messages(t.channel, t.threadTs).map((m) => m.text)).toEqual(['There are no orders yet.']);
    llm.assertDone();
  }, 90_000);
});

describe('graceful shutdown and start-up', () => {
  it('SIGTERM hands turns in flight back within 10 s; the next process to start delivers them at once (drained at start-up, no lease to wait for)', async () => {
    const waits = [hanging(), hanging()];
    llm.enqueue(...waits.map((w) => w.step));
    const first = await serve();
    const threads = [await mention(first, 'first question'), await mention(first, 'second question')];
    await Promise.all(waits.map((w) => w.arrived));
    first.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      first.exited,
      new Promise<'too slow'>((r) => {
        timer = setTimeout(() => r('too slow'), 10_000);
      }),
    ]);
    clearTimeout(timer);
    expect(ended).toEqual({ code: 0, signal: null });
    // Handed back: no lease, and the interrupted start does not count as an attempt.
    expect(await countOf(db.orm.em.fork(), `select count(*)::int as n from session_lease`)).toBe(0);
    expect(
      await rows(
        db.orm.em.fork(),
        z.object({ attempts: z.number(), started: z.boolean() }),
        `select attempts, started_at is not null as started from turn_inbox where done_at is null order by id`,
      ),
    ).toEqual([
      { attempts: 0, started: true },
      { attempts: 0, started: true },
    ]);

    llm.enqueue(echo, echo);
    await serve();
    for (const t of threads) {
      await slack.waitFor(
        'chat.update',
        (c) => c.body.ts === t.placeholderTs && c.body.text === `answer to ${t.text}`,
        { timeoutMs: 30_000 },
      );
      expect(slack.messages(t.channel, t.threadTs).map((m) => m.text)).toEqual([`answer to ${t.text}`]);
    }
    await waitFor(async () => (await undone()) === 0 || undefined, 'the answered turns to be marked done');
    llm.assertDone();
  }, 90_000);

  it('a fatal start-up error exits on its own with a non-zero code and says what is wrong', async () => {
    const bad = await runUntilExit({ ...env, TURN_CONCURRENCY: 'lots' });
    expect(bad.code).toBe(2);
    expect(bad.output).toMatch(/TURN_CONCURRENCY is invalid/);
    if (process.getuid?.() === 0) {
      // As root the embedded PostgreSQL runs as `postgres`, which cannot enter a directory only root may.
      const locked = mkdtempSync(join(tmpdir(), 'renderbot-locked-'));
      mkdirSync(join(locked, 'inner'));
      chmodSync(locked, 0o700);
      const { DATABASE_URL: _, ...embedded } = env;
      const unreachable = await runUntilExit({ ...embedded, DATA_DIR: join(locked, 'inner', 'data') });
      expect(unreachable.code).toBe(2);
      expect(unreachable.output).toContain(`cannot enter ${locked} (mode 700)`);
      expect(unreachable.output).toMatch(/Use a DATA_DIR it can reach/);
    }
  }, 90_000);
});

/** Runs `renderbot serve`, expecting it to end on its own (SIGKILLed after 30 s, which fails the exit-code check: a hang, not slowness). */
function runUntilExit(e: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bot/cli.ts', 'serve'], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...e },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
