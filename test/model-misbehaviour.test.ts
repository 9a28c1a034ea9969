import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MAX_PARALLEL_TOOLS, MAX_TOOL_CALLS_PER_RESPONSE, runAgentTurn, type AgentDeps } from '../core/agent/turn.ts';
import { MAX_OUTPUT_CHARS } from '../core/llm/output-limit.ts';
import { createModelProvider } from '../core/llm/provider.ts';
import { toolRegistry } from '../core/tools/registry.ts';
import { defineTool } from '../core/tools/tool.ts';
import type { FakeLlmRequest, FakeStep } from './fakes/llm-server.ts';
import { createCoreHarness, silentLog, texts, type CoreHarness } from './support/core.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { rows } from './support/rows.ts';

/*
 * A misbehaving model or provider (issue "What production does to a bot", item 4): every case
 * runs a real agent turn against the fake model server and a test database, and ends with a
 * bounded, clear reply, a consistent stored history and every billed response counted.
 */

let h: CoreHarness;
let acme: TenantFixture;

/** How many `lookup` calls run at once, the most that ever did, and how many ran. */
const lookups = { running: 0, peak: 0, ran: 0 };
/** `lookup` calls wait for this before they return. */
let releaseLookups: Promise<void> = Promise.resolve();
/** Called whenever a `lookup` call starts. */
let lookupStarted = () => {};

const lookupParams = z.object({ n: z.number().int().describe('Which item') });
const lookup = defineTool({
  name: 'lookup',
  description: 'Looks an item up',
  kind: 'read',
  parameters: lookupParams,
  run: async (_ctx, args) => {
    lookups.running++;
    lookups.ran++;
    lookups.peak = Math.max(lookups.peak, lookups.running);
    lookupStarted();
    await releaseLookups;
    lookups.running--;
    return { data: { item: args.n } };
  },
});
const tools = toolRegistry([lookup]);

/** Short timeouts, so a stalled stream is cut within a test's time. */
const IDLE_TIMEOUT_MS = 300;

beforeAll(async () => {
  h = await createCoreHarness();
  acme = await makeTenant(h.em(), 'acme');
  await h.enableAi(acme.tenant.id);
});
afterAll(async () => {
  await h.close();
});

const deps = (o: Partial<AgentDeps> = {}): AgentDeps => ({
  ...h.agentDeps({ tools }),
  models: createModelProvider(h.secretsKey, silentLog, { timeoutMs: IDLE_TIMEOUT_MS }),
  ...o,
});
const say = async (text: string, o: { deps?: AgentDeps; onText?: (d: string) => void } = {}) => {
  const turn = await h.turn(acme.tenant.id);
  const reply = await runAgentTurn(
    o.deps ?? deps(),
    turn,
    { kind: 'message', text },
    o.onText ? { onText: o.onText } : {},
  );
  return { turn, reply, text: texts([reply]) };
};
/** Continues the conversation of `turn` with another message. */
const sayAgain = async (turn: Awaited<ReturnType<CoreHarness['turn']>>, text: string) =>
  texts([await runAgentTurn(deps(), turn, { kind: 'message', text })]);

const storedRow = z.object({
  role: z.string(),
  content: z.string(),
  tool_calls: z.array(z.object({ id: z.string() }).loose()).nullable(),
  tool_call_id: z.string().nullable(),
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
});
const stored = async (sessionId: string) =>
  rows(
    h.em(),
    storedRow,
    `select role, content, tool_calls, tool_call_id, prompt_tokens, completion_tokens from chat_message where session_id = ? order by seq`,
    [sessionId],
  );

/** Every tool call in the stored history has exactly one answer. */
function consistent(rows: z.infer<typeof storedRow>[]): boolean {
  const calls = rows.flatMap((r) => r.tool_calls ?? []).map((c) => c.id);
  const answers = rows.filter((r) => r.role === 'tool').map((r) => r.tool_call_id);
  return calls.length === answers.length && calls.every((id) => answers.filter((a) => a === id).length === 1);
}

const usage = async () => {
  const [usage] = await rows(
    h.em(),
    z.object({ p: z.number(), c: z.number(), r: z.number() }),
    `select coalesce(sum(prompt_tokens), 0)::int as p, coalesce(sum(completion_tokens), 0)::int as c, coalesce(sum(requests), 0)::int as r from token_usage where tenant_id = ?`,
    [acme.tenant.id],
  );
  return usage!;
};
const toolAnswers = (req: FakeLlmRequest) =>
  req.body.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
/** The request the fake received `back` requests ago (1 = the last). */
const request = (back: number) => h.llm.requests.at(-back)!;
/** A request answered 200 with `body`, as is. */
const ok200 = (body: unknown, headers: Record<string, string> = {}): FakeStep => ({ status: 200, body, headers });
const call = (n: unknown) => ({ name: 'lookup', arguments: { n } });

describe('tool arguments the model gets wrong', () => {
  it('arguments that are not JSON: the model is told, corrects itself, and the turn answers', async () => {
    h.llm.enqueue(
      { toolCalls: [{ name: 'lookup', arguments: '{"n": 1,' }] },
      { toolCalls: [call(1)] },
      { content: 'Item 1 found.' },
    );
    const { turn, text } = await say('look up 1');
    expect(text).toBe('Item 1 found.');
    expect(toolAnswers(request(2))).toEqual([expect.stringMatching(/^Error: The arguments were not valid JSON/)]);
    expect(toolAnswers(request(1))[1]).toBe('{"item":1}');
    expect(consistent(await stored(turn.sessionId))).toBe(true);
    h.llm.assertDone();
  });

  it('arguments that break the schema twice in a row end the turn with a clear answer instead of looping', async () => {
    h.llm.enqueue({ toolCalls: [call('one')] }, { toolCalls: [call('still one')] }, { content: 'never asked' });
    const { turn, text } = await say('look up one');
    expect(text).toBe(
      'I stopped because I called lookup with invalid arguments twice in a row; please rephrase the request or add details.',
    );
    expect(toolAnswers(request(1))).toEqual([expect.stringMatching(/^Error: Invalid arguments — n: /)]);
    expect(h.llm.discardPending()).toBe(1);
    expect(consistent(await stored(turn.sessionId))).toBe(true);
    h.llm.enqueue({ content: 'Fine now.' });
    expect(await sayAgain(turn, 'again')).toBe('Fine now.');
    h.llm.assertDone();
  });
});

describe('an unknown tool', () => {
  it('is answered with the names of the tools that exist, once', async () => {
    h.llm.enqueue(
      {
        toolCalls: [
          { name: 'launch_rockets', arguments: {} },
          { name: 'fly', arguments: { to: 'moon' } },
        ],
      },
      { content: 'I cannot do that.' },
    );
    const { text } = await say('launch');
    expect(text).toBe('I cannot do that.');
    const [first, second] = toolAnswers(request(1));
    expect(first).toBe('Error: unknown tool "launch_rockets". Available tools: lookup.');
    expect(second).toMatch(/^Error: unknown tool "fly"/);
    expect(second).not.toContain('Available tools');
    h.llm.assertDone();
  });
});

describe('64 tool calls in one response', () => {
  it(`run at most ${MAX_TOOL_CALLS_PER_RESPONSE}, ${MAX_PARALLEL_TOOLS} at once; every call gets one result`, async () => {
    let release!: () => void;
    releaseLookups = new Promise((r) => {
      release = r;
    });
    const allBusy = new Promise<void>((r) => {
      lookupStarted = () => {
        if (lookups.running === MAX_PARALLEL_TOOLS) r();
      };
    });
    Object.assign(lookups, { running: 0, peak: 0, ran: 0 });
    h.llm.enqueue(
      { toolCalls: Array.from({ length: 64 }, (_, i) => call(i)) },
      { content: 'Looked up the first ones.' },
    );
    const done = say('look up everything');
    await allBusy;
    release();
    const { turn, text } = await done;
    expect(text).toBe('Looked up the first ones.');
    expect(lookups).toMatchObject({ peak: MAX_PARALLEL_TOOLS, ran: MAX_TOOL_CALLS_PER_RESPONSE });
    const answers = toolAnswers(request(1));
    expect(answers).toHaveLength(64);
    expect(answers.slice(0, MAX_TOOL_CALLS_PER_RESPONSE).every((a) => a.startsWith('{"item":'))).toBe(true);
    expect(answers.slice(MAX_TOOL_CALLS_PER_RESPONSE)).toEqual(
      Array(64 - MAX_TOOL_CALLS_PER_RESPONSE).fill(
        expect.stringMatching(/^Error: not run — too many tool calls in one response/),
      ),
    );
    expect(consistent(await stored(turn.sessionId))).toBe(true);
    h.llm.assertDone();
  });
});

describe('a tool loop that never ends', () => {
  it('ends at the round limit with an answer saying what was done', async () => {
    h.llm.enqueue({ toolCalls: [call(1)] }, { toolCalls: [call(2), call(3)] }, { toolCalls: [call(4)] });
    const { turn, text } = await say('loop', { deps: deps({ maxRounds: 3 }) });
    expect(text).toBe(
      'I could not finish this within 3 steps (so far I ran lookup 4 times); please narrow the request or ask again.',
    );
    expect(consistent(await stored(turn.sessionId))).toBe(true);
    h.llm.assertDone();
  });
});

describe('a 2 MB answer', () => {
  it(`is cut at ${MAX_OUTPUT_CHARS} characters with a note, before it is stored or shown`, async () => {
    const huge = 'x'.repeat(2 * 1024 * 1024);
    h.llm.enqueue({ content: huge });
    const { turn, text } = await say('write a lot');
    expect(text.length).toBeLessThan(MAX_OUTPUT_CHARS + 200);
    expect(text.startsWith('x'.repeat(MAX_OUTPUT_CHARS))).toBe(true);
    expect(text).toMatch(/\(the answer was too long and was cut off after 40,000 characters\)$/);
    const answer = (await stored(turn.sessionId)).at(-1)!;
    expect(answer.content).toBe(text);
    h.llm.assertDone();
  });

  it('streamed: no more than the bound is shown while it streams', async () => {
    const deltas: string[] = [];
    h.llm.enqueue({ content: 'y'.repeat(2 * 1024 * 1024) });
    const { text } = await say('write a lot', { onText: (d) => deltas.push(d) });
    expect(deltas.join('')).toBe('y'.repeat(MAX_OUTPUT_CHARS));
    expect(text).toMatch(/cut off after 40,000 characters\)$/);
    h.llm.assertDone();
  });
});

describe('a stream cut in the middle', () => {
  it('before any text was shown: asked again, the text is shown once', async () => {
    const deltas: string[] = [];
    h.llm.enqueue({ content: 'A whole answer.', cutAfterChunks: 2 }, { content: 'A whole answer.' });
    const { text } = await say('hello', { onText: (d) => deltas.push(d) });
    expect(text).toBe('A whole answer.');
    expect(deltas.join('')).toBe('A whole answer.');
    h.llm.assertDone();
  });

  it('after text was shown: not asked again (no repeated text), one clear sentence', async () => {
    const deltas: string[] = [];
    h.llm.enqueue({ content: 'A partial answer that breaks.', cutAfterChunks: 3 });
    const { turn, text } = await say('hello', { onText: (d) => deltas.push(d) });
    expect(text).toBe('The AI service stopped part-way through its answer; please ask again.');
    expect(deltas.length).toBe(1);
    h.llm.enqueue({ content: 'Usable again.' });
    expect(await sayAgain(turn, 'again')).toBe('Usable again.');
    h.llm.assertDone();
  });
});

describe('a stream that stalls', () => {
  it('before any text: cut after the idle timeout and asked again', async () => {
    const deltas: string[] = [];
    h.llm.enqueue({ content: 'Prompt answer.', stallAfterChunks: 1 }, { content: 'Prompt answer.' });
    const { text } = await say('hello', { onText: (d) => deltas.push(d) });
    expect(text).toBe('Prompt answer.');
    expect(deltas.join('')).toBe('Prompt answer.');
    h.llm.assertDone();
  });

  it('after text was shown: one clear sentence, not asked again', async () => {
    const deltas: string[] = [];
    h.llm.enqueue({ content: 'Stalling answer here.', stallAfterChunks: 3 });
    const { text } = await say('hello', { onText: (d) => deltas.push(d) });
    expect(text).toBe('The AI service stopped part-way through its answer; please ask again.');
    expect(deltas.length).toBe(1);
    h.llm.assertDone();
  });
});

describe('a 200 response that is not a chat completion', () => {
  const errorBody = { error: { code: 'server_error', message: 'Something broke inside the model.' } };

  it('with an error body: asked again, then answered', async () => {
    h.llm.enqueue(ok200(errorBody), { content: 'Recovered.' });
    expect((await say('hello')).text).toBe('Recovered.');
    h.llm.assertDone();
  });

  it('with an error body every time: one clear sentence after the retries, and the session stays usable', async () => {
    h.llm.enqueue(ok200(errorBody), ok200(errorBody), ok200(errorBody), ok200(errorBody));
    const { turn, text } = await say('hello');
    expect(text).toBe('The AI service answered with something unusable; please try again in a minute.');
    h.llm.enqueue({ content: 'Fine.' });
    expect(await sayAgain(turn, 'again')).toBe('Fine.');
    h.llm.assertDone();
  });

  it('with a body that is not JSON: asked again, never a crash', async () => {
    h.llm.enqueue(
      ok200('<html>Bad gateway</html>'),
      ok200('<html>Bad gateway</html>', { 'content-type': 'text/html' }),
      { content: 'Recovered.' },
    );
    expect((await say('hello')).text).toBe('Recovered.');
    h.llm.enqueue(...Array.from({ length: 4 }, () => ok200('{"choices": [')));
    expect((await say('hello')).text).toBe(
      'The AI service answered with something unusable; please try again in a minute.',
    );
    h.llm.assertDone();
  });

  it('streamed, with an error body: asked again, then answered', async () => {
    h.llm.enqueue(ok200(errorBody), { content: 'Recovered.' });
    expect((await say('hello', { onText: () => {} })).text).toBe('Recovered.');
    h.llm.assertDone();
  });
});

describe('finish reasons', () => {
  it('"length": the answer is kept and marked as cut off', async () => {
    h.llm.enqueue({ content: 'The first part of a long', finishReason: 'length' });
    const { text } = await say('write a long text');
    expect(text).toBe('The first part of a long… (the answer was cut off at the length limit)');
    h.llm.assertDone();
  });

  it('"content_filter" in a 200 response: a clear refusal, the session stays usable, the tokens count', async () => {
    const before = await usage();
    h.llm.enqueue({
      content: 'Here is how to',
      finishReason: 'content_filter',
      usage: { promptTokens: 70, completionTokens: 4 },
    });
    const { turn, text } = await say('something the filter dislikes');
    expect(text).toBe(
      "The AI service's content filter stopped this answer; please rephrase your message and try again.",
    );
    expect(await usage()).toEqual({ p: before.p + 70, c: before.c + 4, r: before.r + 1 });
    h.llm.enqueue({ content: 'Sure.' });
    expect(await sayAgain(turn, 'something else')).toBe('Sure.');
    h.llm.assertDone();
  });

  it('"content_filter" on a response with tool calls: none of them runs or is stored', async () => {
    Object.assign(lookups, { running: 0, peak: 0, ran: 0 });
    h.llm.enqueue({ toolCalls: [call(1)], finishReason: 'content_filter' });
    const { turn, text } = await say('hello');
    expect(text).toMatch(/content filter stopped this answer/);
    expect(lookups.ran).toBe(0);
    const rows = await stored(turn.sessionId);
    expect(rows.some((r) => r.tool_calls?.length)).toBe(false);
    h.llm.assertDone();
  });
});

describe('usage', () => {
  /** A 200 without choices that still reports usage: the provider billed it. */
  const billedButEmpty = (promptTokens: number, completionTokens: number) =>
    ok200({
      id: 'chatcmpl-x',
      object: 'chat.completion',
      created: 0,
      model: 'gpt-4o',
      choices: [],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    });

  it('counts every billed response of a turn: tool rounds, a failed attempt that carried usage, and the answer', async () => {
    const before = await usage();
    h.llm.enqueue(
      { toolCalls: [call(1)], usage: { promptTokens: 100, completionTokens: 10 } },
      billedButEmpty(120, 3),
      { content: 'Done.', usage: { promptTokens: 130, completionTokens: 5 } },
    );
    const { turn, text } = await say('look up 1');
    expect(text).toBe('Done.');
    expect(await usage()).toEqual({ p: before.p + 350, c: before.c + 18, r: before.r + 2 });
    const rows = await stored(turn.sessionId);
    expect(rows.reduce((n, r) => n + r.prompt_tokens + r.completion_tokens, 0)).toBe(368);
    h.llm.assertDone();
  });

  it('counts the billed attempts of a call that failed in the end, with its reply', async () => {
    const before = await usage();
    h.llm.enqueue(
      billedButEmpty(50, 1),
      billedButEmpty(50, 1),
      ok200({ error: { message: 'x' } }),
      billedButEmpty(50, 1),
    );
    const { text } = await say('hello');
    expect(text).toMatch(/answered with something unusable/);
    expect(await usage()).toEqual({ p: before.p + 150, c: before.c + 3, r: before.r + 1 });
    h.llm.assertDone();
  });

  it('streamed: a stream that reported usage but never finished counts', async () => {
    const before = await usage();
    h.llm.enqueue({ content: 'Half of it', finishReason: '', usage: { promptTokens: 40, completionTokens: 2 } });
    const { text } = await say('hello', { onText: () => {} });
    expect(text).toBe('The AI service stopped part-way through its answer; please ask again.');
    expect(await usage()).toEqual({ p: before.p + 40, c: before.c + 2, r: before.r + 1 });
    h.llm.assertDone();
  });
});
