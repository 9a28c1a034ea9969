import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRow } from '../core/db/sql.ts';
import { connectionBudget } from '../core/config.ts';
import { setModelConcurrency } from '../core/llm/capacity.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { upsertProducts } from '../core/pipeline/catalogue.ts';
import type { RenderBackend } from '../core/renders/task.ts';
import { startFakeLlm, type FakeLlm, type FakeLlmRequest, type FakeStep } from './fakes/llm-server.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { runCli } from './support/cli.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { submitOrder, waitFor } from './support/renders.ts';
import { z } from 'zod';
import { countOf, rows, pgRow } from './support/rows.ts';

/*
 * Turns at the speed of the model (docs/design.md §4, issue 11), through the web API of a full app: many
 * turns waiting on a slow model at once, a render backlog beside them, one tenant flooding its
 * model while another is answered, and two processes driving one session.
 */

let h: WebHarness;
let other: FakeLlm;
let acme: TenantFixture;
let globex: TenantFixture;
let acmeToken: string;
let globexToken: string;
let releaseRenders!: () => void;
const renderGate = new Promise<void>((r) => {
  releaseRenders = r;
});
/** Render jobs wait until the test ends: a backlog that only moves RENDER_CONCURRENCY jobs at a time. */
const stuckBackend: RenderBackend = async () => {
  await renderGate;
  return { kind: 'done', resultUrl: 'https://cdn.example/render.webp' };
};

beforeAll(async () => {
  h = await startWebHarness({ app: { renderBackends: () => stuckBackend } });
  other = await startFakeLlm({ provider: 'azure' });
  acme = await makeTenant(h.em(), 'acme');
  globex = await makeTenant(h.em(), 'globex');
  await h.enableAi(acme.tenant.id);
  await setTenantAi(h.em(), h.config.secretsKey, globex.tenant.id, other.settings, other.apiKey);
  acmeToken = await h.token(acme.tenant.id, 'alice', 'operator');
  globexToken = await h.token(globex.tenant.id, 'gina', 'operator');
});
afterAll(async () => {
  releaseRenders();
  await other?.close();
  await h?.close();
});

const ask = async (token: string, message: string, sessionId?: string) => {
  const res = await h.api('/api/chat/messages', {
    token,
    body: { message, ...(sessionId ? { session_id: sessionId } : {}) },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { session_id: string; response: { content: string } };
};
const lastUser = (req: FakeLlmRequest) =>
  String([...req.body.messages].reverse().find((m) => m.role === 'user')?.content);

/** Steps that hold every request until `open()`; `inFlight`/`most` count the requests held at once. */
function heldSteps(answer: (req: FakeLlmRequest) => FakeStep) {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  const state = {
    inFlight: 0,
    most: 0,
    open,
    reached: (n: number) =>
      waitFor(async () => (state.inFlight >= n ? true : undefined), `${n} model calls waiting`, 60_000),
  };
  const step: FakeStep = async (req) => {
    state.inFlight += 1;
    state.most = Math.max(state.most, state.inFlight);
    await opened;
    state.inFlight -= 1;
    return answer(req);
  };
  return { state, step };
}

/** Samples this database's connections (other than the sampler's own) until stopped; returns the most seen. */
function sampleConnections(url: string) {
  const client = new pg.Client({ connectionString: url });
  let most = 0;
  let stop = false;
  const done = (async () => {
    await client.connect();
    const db = new URL(url).pathname.slice(1);
    while (!stop) {
      const count = await pgRow(
        client,
        countRow,
        `select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
        [db],
      );
      most = Math.max(most, count!.n);
      await new Promise((r) => setTimeout(r, 20));
    }
    await client.end();
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return most;
    },
  };
}

describe('turns waiting on the model', () => {
  it('300 turns wait on a slow model at once in one process; all are answered; database connections stay within the documented bound', async () => {
    await setModelConcurrency(h.em(), acme.tenant.id, 1000);
    const held = heldSteps((req) => ({ content: `answer to ${lastUser(req)}` }));
    for (let i = 0; i < 300; i++) h.llm.enqueue(held.step);
    const sampler = sampleConnections(h.db.url);
    const answers = Promise.all(Array.from({ length: 300 }, (_, i) => ask(acmeToken, `question ${i}`)));
    // Every turn is waiting on the model at the same moment: none holds a queue slot or a connection.
    await held.state.reached(300);
    held.state.open();
    const replies = await answers;
    const most = await sampler.stop();
    expect(replies.map((r) => r.response.content)).toEqual(
      Array.from({ length: 300 }, (_, i) => `answer to question ${i}`),
    );
    expect(held.state.most).toBe(300);
    expect(most).toBeLessThanOrEqual(connectionBudget(h.config));
    expect(connectionBudget(h.config)).toBeLessThan(40);
    h.llm.assertDone();
    await setModelConcurrency(h.em(), acme.tenant.id, 256);
  }, 120_000);

  it('a render backlog of thousands of jobs does not hold a conversation back', async () => {
    await upsertProducts(
      h.em(),
      acme.tenant.id,
      Array.from({ length: 3000 }, (_, i) => ({
        pimId: `BULK-${i}`,
        name: `Bulk bearing ${i}`,
        category: 'Kugellager',
      })),
    );
    await submitOrder(
      h.app.db.orm,
      acme.tenant.id,
      Array.from({ length: 3000 }, (_, i) => `BULK-${i}`),
      'WebP 1024x1024',
    );
    const queuedJobs = async () =>
      countOf(h.em(), `select count(*)::int as n from render_job where tenant_id = ? and status = 'queued'`, [
        acme.tenant.id,
      ]);
    // The render workers are busy (their jobs never finish) and thousands wait behind them.
    await waitFor(
      async () =>
        (await countOf(h.em(), `select count(*)::int as n from render_job where tenant_id = ? and status = 'running'`, [
          acme.tenant.id,
        ])) >= h.config.RENDER_CONCURRENCY
          ? true
          : undefined,
      'render workers busy',
    );
    h.llm.enqueue({ content: 'Renders are on their way.' });
    const reply = await ask(acmeToken, 'how are the renders doing?');
    expect(reply.response.content).toBe('Renders are on their way.');
    expect(await queuedJobs()).toBeGreaterThan(2900);
    h.llm.assertDone();
  }, 60_000);
});

describe('fair between tenants (docs/design.md §4)', () => {
  it('a flooding tenant waits in order at its cap while another tenant is answered; a 429 burst lowers its cap and nothing is lost', async () => {
    await setModelConcurrency(h.em(), acme.tenant.id, 2);
    let rateLimited = 0;
    // acme's provider: the first two calls are held, then answer 429 (retry-after-ms 300) once each; all later calls answer.
    const held = heldSteps(() => {
      rateLimited += 1;
      return {
        status: 429,
        headers: { 'retry-after-ms': '300' },
        body: { error: { code: '429', message: 'Rate limit is exceeded. Try again in 1 second.' } },
      };
    });
    h.llm.enqueue(held.step, held.step);
    let afterLimit = 0;
    let mostAfterLimit = 0;
    for (let i = 0; i < 10; i++) {
      h.llm.enqueue(async (req) => {
        afterLimit += 1;
        mostAfterLimit = Math.max(mostAfterLimit, afterLimit);
        await new Promise((r) => setTimeout(r, 20));
        afterLimit -= 1;
        return { content: `acme: ${lastUser(req)}` };
      });
    }
    const flood = Promise.all(Array.from({ length: 10 }, (_, i) => ask(acmeToken, `flood ${i}`)));
    await held.state.reached(2);
    // acme's other 8 turns wait for its cap, in order; globex is answered meanwhile.
    await waitFor(
      async () => (h.app.gate.tenant(acme.tenant.id).waiting === 8 ? true : undefined),
      'acme turns waiting for the cap',
    );
    const globexAnswer: FakeStep = (req) => ({ content: `globex: ${lastUser(req)}` });
    other.enqueue(globexAnswer, globexAnswer, globexAnswer);
    const globexReplies = await Promise.all([1, 2, 3].map((i) => ask(globexToken, `globex question ${i}`)));
    expect(globexReplies.map((r) => r.response.content)).toEqual([1, 2, 3].map((i) => `globex: globex question ${i}`));
    expect(held.state.most).toBe(2);
    expect(h.app.gate.tenant(acme.tenant.id)).toMatchObject({ inFlight: 2, waiting: 8 });

    held.state.open();
    const replies = await flood;
    expect(replies.map((r) => r.response.content).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `acme: flood ${i}`).sort(),
    );
    expect(rateLimited).toBe(2);
    // The 429s lowered acme's cap to 1 (half of what ran) for a while: its calls then ran one at a time.
    expect(mostAfterLimit).toBe(1);
    const [tenantRow] = await rows(
      h.em(),
      z.object({ ai_throttle_cap: z.number(), lowered: z.boolean() }),
      `select ai_throttle_cap, ai_throttled_until > now() as lowered from tenant where id = ?`,
      [acme.tenant.id],
    );
    expect(tenantRow).toEqual({ ai_throttle_cap: 1, lowered: true });
    const usage = await runCli(['admin', 'usage', '--tenant', 'acme'], {
      DATABASE_URL: h.db.url,
      DATA_DIR: h.config.dataDir,
    });
    expect(usage.code).toBe(0);
    expect(usage.stdout).toMatch(
      /model calls: 1 at once per process \(lowered from 2 after the AI provider answered 429, until \S+\); turns: 0 being answered, 0 waiting/,
    );
    const metrics = await (await h.api('/metrics')).text();
    expect(metrics).toMatch(/^renderbot_tenants_throttled 1$/m);
    expect(metrics).not.toContain(acme.tenant.id);
    h.llm.assertDone();
    other.assertDone();
    await h
      .em()
      .execute(
        `update tenant set ai_throttle_cap = null, ai_throttled_until = null, ai_max_concurrency = 256 where id = ?`,
        [acme.tenant.id],
      );
  }, 120_000);
});

describe('one session, two processes', () => {
  it('web turns of one session sent to two processes at once never run at the same time', async () => {
    // A second process of the same deployment: same database, same SECRETS_KEY (it decrypts the tenant's AI key when it takes the session).
    const second = await startWebHarness({ db: h.db, env: { SECRETS_KEY: h.config.secretsKey.toString('hex') } });
    try {
      let running = 0;
      let overlapped = false;
      // Merged messages make fewer model calls than messages: each call queues the step for the next one.
      const step: FakeStep = async (req) => {
        h.llm.enqueue(step);
        running += 1;
        if (running > 1) overlapped = true;
        await new Promise((r) => setTimeout(r, 50));
        running -= 1;
        return { content: `answer to ${lastUser(req)}` };
      };
      h.llm.enqueue(step);
      const session = (await ask(acmeToken, 'opening question')).session_id;
      const secondToken = await second.token(acme.tenant.id, 'alice', 'operator');
      const sent = Array.from({ length: 6 }, (_, i) =>
        i % 2 === 0
          ? ask(acmeToken, `message ${i}`, session)
          : second
              .api('/api/chat/messages', { token: secondToken, body: { message: `message ${i}`, session_id: session } })
              .then((r) => r.json() as Promise<{ response: { content: string } }>),
      );
      const replies = await Promise.all(sent);
      expect(overlapped).toBe(false);
      expect(replies.every((r) => r.response.content.startsWith('answer to '))).toBe(true);
      // Messages that piled up were answered together (docs/design.md §4), so fewer model calls than messages; none was skipped.
      const texts = await rows(
        h.em(),
        z.object({ content: z.string() }),
        `select content from chat_message where session_id = ? and role = 'user' order by seq`,
        [session],
      );
      expect(
        texts
          .map((t) => t.content)
          .join('\n\n')
          .split('\n\n')
          .sort(),
      ).toEqual(['opening question', ...Array.from({ length: 6 }, (_, i) => `message ${i}`)].sort());
    } finally {
      await second.close();
    }
  }, 60_000);
});
