import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { createCoreHarness, texts, type CoreHarness } from './support/core.ts';
import { z } from 'zod';
import { rows } from './support/rows.ts';

let h: CoreHarness;
let acme: TenantFixture;
let plain: TenantFixture;

beforeAll(async () => {
  h = await createCoreHarness();
  acme = await makeTenant(h.em(), 'acme');
  plain = await makeTenant(h.em(), 'plain');
  await h.enableAi(acme.tenant.id);
});
afterAll(async () => {
  await h.close();
});

const messageRow = z.object({
  role: z.string(),
  content: z.string(),
  tool_calls: z.array(z.looseObject({ id: z.string() })).nullable(),
  tool_call_id: z.string().nullable(),
});
const messages = (sessionId: string) =>
  rows(
    h.em(),
    messageRow,
    `select role, content, tool_calls, tool_call_id from chat_message where session_id = ? order by seq`,
    [sessionId],
  );

/** Every tool call in the stored history has exactly one answer. */
function consistent(rows: Awaited<ReturnType<typeof messages>>): boolean {
  const calls = rows.flatMap((r) => r.tool_calls ?? []).map((c) => c.id);
  const answers = rows.filter((r) => r.role === 'tool').map((r) => r.tool_call_id);
  return calls.length === answers.length && calls.every((id) => answers.filter((a) => a === id).length === 1);
}

describe('tenant without AI', () => {
  it('explains how to configure AI, and the commands still work', async () => {
    const turn = await h.turn(plain.tenant.id);
    expect(texts(await h.conversations.respond(turn, 'render everything please'))).toMatch(
      /AI is not configured for Tenant plain.*renderbot admin tenant ai --tenant plain/,
    );
    const [search] = await h.conversations.respond(turn, 'search Rillenkugellager');
    expect(JSON.stringify(search)).toContain('PLAIN-KL-6204');
    expect(h.llm.requests).toHaveLength(0);
  });
});

describe('monthly token limit', () => {
  it('refuses model calls once the limit is reached, with a clear message', async () => {
    const t = await makeTenant(h.em(), 'limited');
    await h.enableAi(t.tenant.id);
    await h.em().execute(`update tenant set monthly_token_limit = 50 where id = ?`, [t.tenant.id]);
    const turn = await h.turn(t.tenant.id);
    h.llm.enqueue({ content: 'Hello!', usage: { promptTokens: 40, completionTokens: 20 } });
    expect(texts(await h.conversations.respond(turn, 'hi'))).toBe('Hello!');
    const calls = h.llm.requests.length;
    expect(texts(await h.conversations.respond(turn, 'hi again'))).toMatch(
      /used its monthly AI allowance \(60 of 50 tokens\)/,
    );
    expect(h.llm.requests).toHaveLength(calls);
    const [usage] = await h.conversations.respond(turn, 'usage');
    expect(JSON.stringify(usage)).toContain('120% used');
    h.llm.assertDone();
  });
});

describe('LLM faults', () => {
  it('retries a 429 honouring retry-after-ms, then answers', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue({ status: 429, headers: { 'retry-after-ms': '20' } }, { content: 'Back again.' });
    expect(texts(await h.conversations.respond(turn, 'hello'))).toBe('Back again.');
    h.llm.assertDone();
  });

  it('gives up after repeated 5xx with a clear reply, keeping the session consistent and usable', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue(
      { toolCalls: [{ name: 'list_orders', arguments: { status: null, limit: null } }] },
      { status: 500 },
      { status: 502 },
      { status: 503 },
      { status: 500 },
    );
    expect(texts(await h.conversations.respond(turn, 'what are my orders?'))).toMatch(/AI service is unavailable/);
    expect(consistent(await messages(turn.sessionId))).toBe(true);
    // The fake rejects (HTTP 400) any history with an unanswered tool call, so this proves consistency too.
    h.llm.enqueue({ content: 'You have no orders yet.' });
    expect(texts(await h.conversations.respond(turn, 'try again'))).toBe('You have no orders yet.');
    h.llm.assertDone();
  });

  it('does not retry a content-filter refusal and keeps the session usable', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue({ contentFilter: true });
    const reply = texts(await h.conversations.respond(turn, 'something the filter dislikes'));
    expect(reply).toMatch(/content filter|filtered|policy/i);
    h.llm.enqueue({ content: 'Sure.' });
    expect(texts(await h.conversations.respond(turn, 'something else'))).toBe('Sure.');
    h.llm.assertDone();
  });

  it('never shows the tenant API key in replies or stored messages', async () => {
    const turn = await h.turn(acme.tenant.id);
    h.llm.enqueue({
      status: 401,
      body: { error: { code: '401', message: 'Access denied due to invalid subscription key.' } },
    });
    const reply = JSON.stringify(await h.conversations.respond(turn, 'hi'));
    expect(reply).not.toContain(h.llm.apiKey);
    expect(reply).toMatch(/key was rejected|admin/i);
    const stored = JSON.stringify(await rows(h.em(), z.record(z.string(), z.unknown()), `select * from chat_message`));
    expect(stored).not.toContain(h.llm.apiKey);
    const [tenant] = await rows(
      h.em(),
      z.object({ ai_key_encrypted: z.string() }),
      `select ai_key_encrypted from tenant where id = ?`,
      [acme.tenant.id],
    );
    expect(tenant!.ai_key_encrypted).not.toContain(h.llm.apiKey);
    h.llm.assertDone();
  });
});
