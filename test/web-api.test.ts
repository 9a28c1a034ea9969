import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { readFileSync } from 'node:fs';
import { OPENAPI_FILE } from '../adapters/web/openapi-file.ts';
import { apiDocument } from './fixtures/web/contract.ts';
import { readEvents, startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';
import { createApiToken, revokeApiToken, createLoginCode } from '../core/tenancy/tokens.ts';
import { SUBJECT_LABEL } from '../core/agent/data-messages.ts';
import { lastNote } from './support/prompt.ts';
import { removeUser, setUserRole } from '../core/tenancy/users.ts';
import { z } from 'zod';
import { countOf, rows } from './support/rows.ts';

let h: WebHarness;
let acme: TenantFixture;
let globex: TenantFixture;
let alice: string; // acme operator
let bob: string; // acme operator, another user
let vera: string; // acme viewer
let gus: string; // globex operator
let revoked: string;

type Msg = {
  id: string;
  role: string;
  content: string;
  created_at: string;
  cursor: string;
  reply: { blocks: { type: string; [k: string]: unknown }[] } | null;
};
type ChatResult = { session_id: string; message: Msg; response: Msg };

function toolResult(req: FakeLlmRequest, name: string): unknown {
  const msgs = req.body.messages;
  const call = [...msgs]
    .reverse()
    .flatMap((m) => (m.tool_calls as { id: string; function: { name: string } }[] | undefined) ?? [])
    .find((c) => c.function.name === name);
  return JSON.parse(String(msgs.find((m) => m.role === 'tool' && m.tool_call_id === call?.id)?.content));
}
const systemOf = (req: FakeLlmRequest) => String(req.body.messages[0]?.content);
/** The data message saying what the conversation is about, if the request had one. */
const contextOf = (req: FakeLlmRequest) =>
  String(req.body.messages.find((m) => m.role === 'user' && String(m.content).startsWith(SUBJECT_LABEL))?.content);

beforeAll(async () => {
  h = await startWebHarness();
  acme = await makeTenant(h.em(), 'acme');
  globex = await makeTenant(h.em(), 'globex');
  await h.enableAi(acme.tenant.id);
  alice = await h.token(acme.tenant.id, 'alice', 'operator');
  bob = await h.token(acme.tenant.id, 'bob', 'operator');
  vera = await h.token(acme.tenant.id, 'vera', 'viewer');
  gus = await h.token(globex.tenant.id, 'gus', 'operator');
  const r = await createApiToken(h.em(), { tenantId: acme.tenant.id, userId: 'rex', role: 'admin' });
  await revokeApiToken(h.em(), acme.tenant.id, r.id);
  revoked = r.token;
});
afterAll(async () => {
  await h.close();
});

async function send(token: string, body: Record<string, unknown>): Promise<ChatResult> {
  const res = await h.api('/api/chat/messages', { token, body });
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
  return (await res.json()) as ChatResult;
}

describe('authentication', () => {
  const endpoints: [string, string, unknown?][] = [
    ['POST', '/api/chat/messages', { message: 'hi' }],
    ['GET', '/api/chat/sessions'],
    ['GET', '/api/chat/sessions/00000000-0000-4000-8000-000000000000/messages'],
    ['DELETE', '/api/chat/sessions/00000000-0000-4000-8000-000000000000'],
    ['POST', '/api/chat/sessions/00000000-0000-4000-8000-000000000000/stop'],
    ['POST', '/api/actions/00000000-0000-4000-8000-000000000000/confirm', {}],
    ['POST', '/api/actions/00000000-0000-4000-8000-000000000000/cancel', {}],
    ['GET', '/api/me'],
  ];
  it.each(endpoints)(
    '%s %s answers 401 JSON without, with a wrong and with a revoked token',
    async (method, path, body) => {
      for (const token of [undefined, 'rbt_wrong', 'not-even-a-token', revoked]) {
        const res = await h.api(path, { method, ...(token ? { token } : {}), ...(body !== undefined ? { body } : {}) });
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: 'unauthorized', message: expect.any(String) } });
      }
      expect(h.llm.requests).toHaveLength(0);
    },
  );

  it('never reads cookies: a cookie alone is 401', async () => {
    const res = await h.api('/api/chat/sessions', { headers: { cookie: `token=${alice}` } });
    expect(res.status).toBe(401);
  });

  it('a one-time login link mints a token exactly once', async () => {
    const { code } = await createLoginCode(h.em(), {
      tenantId: acme.tenant.id,
      userId: 'linda',
      role: 'viewer',
      now: new Date(),
    });
    const first = await h.api('/api/auth/login', { body: { code } });
    expect(first.status).toBe(200);
    const { token } = (await first.json()) as { token: string };
    expect(await (await h.api('/api/me', { token })).json()).toMatchObject({
      user_id: 'linda',
      role: 'viewer',
      tenant: { slug: 'acme' },
      ai: { configured: true, limit_reached: false },
    });
    expect((await h.api('/api/auth/login', { body: { code } })).status).toBe(401);
    expect((await h.api('/api/auth/login', { body: {} })).status).toBe(400);
  });

  it('a login link made before the user was removed signs nobody in, not even once they are added again', async () => {
    const { code } = await createLoginCode(h.em(), {
      tenantId: acme.tenant.id,
      userId: 'lars',
      role: 'operator',
      now: new Date(),
    });
    expect(await removeUser(h.em(), acme.tenant.id, 'web', 'lars')).toBe(true);
    expect((await h.api('/api/auth/login', { body: { code } })).status).toBe(401);
    await setUserRole(h.em(), acme.tenant.id, 'web', 'lars', 'viewer');
    expect((await h.api('/api/auth/login', { body: { code } })).status).toBe(401);
    expect(
      await countOf(h.em(), `select count(*)::int as n from api_token where tenant_id = ? and user_id = 'lars'`, [
        acme.tenant.id,
      ]),
    ).toBe(0);
  });
});

describe('POST /api/chat/messages', () => {
  it('rejects bad bodies with 400 and the zod message, before any model call', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /message/],
      [{ message: '   ' }, /message must not be empty/],
      [{ message: 'hi', session_id: 'nope' }, /session_id must be a UUID/],
      [{ message: 'hi', context_type: 'invoice', context_id: 'x' }, /context_type/],
      [{ message: 'hi', context_type: 'order' }, /context_id is required/],
      [{ message: 'hi', extra: true }, /extra/],
      ['{"message": ', /not valid JSON/],
    ];
    for (const [body, pattern] of cases) {
      const res = await h.api('/api/chat/messages', { token: alice, body });
      expect(res.status).toBe(400);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.message).toMatch(pattern);
    }
    expect(h.llm.requests).toHaveLength(0);
  });

  it('the seed example: message → confirm card → confirm through the API → order created once, follow-up in the session', async () => {
    h.llm.enqueue(
      { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 200 } }] },
      (req) => {
        const found = toolResult(req, 'search_products') as { products: { id: string }[] };
        return {
          toolCalls: [
            {
              name: 'create_order',
              arguments: {
                product_ids: found.products.map((p) => p.id),
                output_type_name: 'WebP 1024x1024',
                submit: true,
                material_override: null,
                render_overrides: null,
              },
            },
          ],
        };
      },
    );
    const r = await send(alice, { message: 'Render all Kugellager products as WebP at 1024x1024' });
    expect(r.message).toMatchObject({ role: 'user', content: 'Render all Kugellager products as WebP at 1024x1024' });
    expect(r.response.role).toBe('assistant');
    const confirm = r.response.reply!.blocks.find((b) => b.type === 'confirm') as unknown as {
      actionId: string;
      status: string;
    };
    expect(confirm.status).toBe('pending');
    expect(
      await countOf(h.em(), `select count(*)::int as n from render_order where tenant_id = ?`, [acme.tenant.id]),
    ).toBe(0);

    // Others can't see or decide it: another tenant → 404, a viewer → 403.
    expect((await h.api(`/api/actions/${confirm.actionId}/confirm`, { token: gus, body: {} })).status).toBe(404);
    expect((await h.api(`/api/actions/${confirm.actionId}/confirm`, { token: vera, body: {} })).status).toBe(403);

    h.llm.enqueue((req) => {
      const number = /SA-\d{4}-\d{5}/.exec(lastNote(req))?.[0];
      return { content: `Done: order ${number} was created and its renders were dispatched.` };
    });
    const before = (await (await h.api(`/api/chat/sessions/${r.session_id}/messages`, { token: alice })).json()) as {
      messages: Msg[];
    };
    const lastCursor = before.messages.at(-1)!.cursor;
    const [first, second] = await Promise.all([
      h.api(`/api/actions/${confirm.actionId}/confirm`, { token: alice, body: {} }),
      h.api(`/api/actions/${confirm.actionId}/confirm`, { token: bob, body: {} }),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 409]);
    const ok = (await (first.status === 200 ? first : second).json()) as {
      ok: boolean;
      status: string;
      reply: { blocks: { type: string; status?: string }[] };
    };
    expect(ok).toMatchObject({ ok: true, status: 'done' });
    expect(ok.reply.blocks.find((b) => b.type === 'confirm')?.status).toBe('done');
    const orders = await rows(
      h.em(),
      z.object({ order_number: z.string() }),
      `select order_number from render_order where tenant_id = ?`,
      [acme.tenant.id],
    );
    expect(orders).toHaveLength(1);
    expect(
      await countOf(
        h.em(),
        `select count(*)::int as n from render_job j join render_order o on o.id = j.order_id where o.tenant_id = ?`,
        [acme.tenant.id],
      ),
    ).toBe(3);

    // The follow-up is written by the worker; a long-poll returns it as soon as it is delivered.
    const poll = await h.api(`/api/chat/sessions/${r.session_id}/messages?after=${lastCursor}&wait=20`, {
      token: alice,
    });
    const fresh = (await poll.json()) as { messages: Msg[] };
    expect(fresh.messages.map((m) => m.content).join('\n')).toContain(orders[0]!.order_number);
    // A replay changes nothing.
    expect((await h.api(`/api/actions/${confirm.actionId}/confirm`, { token: alice, body: {} })).status).toBe(409);
    // The renders finish; the completion notice arrives in the same session (long-poll until it is there).
    let notice: Msg | undefined;
    for (let after = fresh.messages.at(-1)!.cursor, polls = 0; !notice && polls < 3; polls++) {
      const next = (await (
        await h.api(`/api/chat/sessions/${r.session_id}/messages?after=${after}&wait=20`, { token: alice })
      ).json()) as { messages: Msg[] };
      notice = next.messages.find((m) => m.content.includes(`${orders[0]!.order_number}** is done`));
      after = next.messages.at(-1)?.cursor ?? after;
    }
    expect(notice?.role).toBe('assistant');
    h.llm.assertDone();
  });

  it('streams tokens then the final message; the text equals the non-streaming reply', async () => {
    const text = 'There are no open orders right now, but I can create one.';
    h.llm.enqueue({ content: text }, { content: text });
    const plain = await send(alice, { message: 'any orders?' });
    const res = await h.api('/api/chat/messages', {
      token: alice,
      body: { message: 'any orders?' },
      headers: { accept: 'text/event-stream' },
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(res);
    expect(events[0]).toMatchObject({ event: 'session', data: { session_id: expect.any(String) } });
    const tokens = events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
    expect(tokens.length).toBeGreaterThan(1);
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(tokens.join('')).toBe(plain.response.content);
    expect((done.data as ChatResult).response.content).toBe(plain.response.content);
    expect(h.llm.requests.at(-1)!.body.stream).toBe(true);
    h.llm.assertDone();
  });

  it('passes the order summary as the context data message for context_type order; unknown or foreign ids → 404 without a model call', async () => {
    const [order] = await rows(
      h.em(),
      z.object({ id: z.string(), order_number: z.string() }),
      `select id, order_number from render_order where tenant_id = ?`,
      [acme.tenant.id],
    );
    h.llm.enqueue({ content: 'It is rendering: 0 of 3 jobs finished.' });
    const r = await send(alice, {
      message: "what's the status?",
      context_type: 'order',
      context_id: order!.order_number,
    });
    const context = contextOf(h.llm.requests.at(-1)!);
    expect(context).toContain(`<context>\norder ${order!.order_number}`);
    expect(systemOf(h.llm.requests.at(-1)!)).not.toContain(order!.order_number);
    // The app's worker renders the order's jobs meanwhile (local backend), so status and counts move.
    expect(context).toMatch(/status (rendering|completed).*3 products; render jobs: \d/);
    // The session remembers it: the next turn without context still has the summary.
    h.llm.enqueue({ content: 'Still rendering.' });
    await send(alice, { message: 'and now?', session_id: r.session_id });
    expect(contextOf(h.llm.requests.at(-1)!)).toContain(order!.order_number);

    h.llm.enqueue({ content: 'A ball bearing.' });
    await send(alice, { message: 'what is this?', context_type: 'product', context_id: 'ACME-KL-6204' });
    expect(contextOf(h.llm.requests.at(-1)!)).toMatch(
      /<context>\nproduct "ACME-KL-6204" "ACME Rillenkugellager 6204".*category "Kugellager"/,
    );

    const calls = h.llm.requests.length;
    const globexProduct = Object.values(globex.productIds)[0]!;
    for (const body of [
      { message: 'status?', context_type: 'order', context_id: 'SA-2026-99999' },
      {
        message: 'status?',
        context_type: 'order',
        context_id: order!.id.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
      },
      { message: 'what is this?', context_type: 'product', context_id: globexProduct },
    ]) {
      const res = await h.api('/api/chat/messages', { token: alice, body });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
    // The order is invisible to another tenant too.
    expect(
      (
        await h.api('/api/chat/messages', {
          token: gus,
          body: { message: 'status?', context_type: 'order', context_id: order!.id },
        })
      ).status,
    ).toBe(404);
    expect(h.llm.requests.length).toBe(calls);
    h.llm.assertDone();
  });
});

describe('sessions', () => {
  it("lists only the caller's sessions, newest first, paginated; another user or tenant gets 404; delete removes messages", async () => {
    const mine = (await (await h.api('/api/chat/sessions?limit=2', { token: alice })).json()) as {
      sessions: { session_id: string; title: string; message_count: number; last_message: string }[];
      next_cursor: string | null;
    };
    expect(mine.sessions).toHaveLength(2);
    expect(mine.next_cursor).toEqual(expect.any(String));
    expect(mine.sessions[0]).toMatchObject({
      title: 'what is this?',
      message_count: 2,
      last_message: 'A ball bearing.',
    });
    const all: string[] = mine.sessions.map((s) => s.session_id);
    let cursor = mine.next_cursor;
    while (cursor) {
      const page = (await (await h.api(`/api/chat/sessions?limit=2&cursor=${cursor}`, { token: alice })).json()) as {
        sessions: { session_id: string }[];
        next_cursor: string | null;
      };
      all.push(...page.sessions.map((s) => s.session_id));
      cursor = page.next_cursor;
    }
    const stored = await rows(
      h.em(),
      z.object({ id: z.string() }),
      `select id from chat_session where tenant_id = ? and platform = 'web' and created_by = 'alice' order by last_active_at desc`,
      [acme.tenant.id],
    );
    expect(all).toEqual(stored.map((r) => r.id));
    expect(
      ((await (await h.api('/api/chat/sessions', { token: bob })).json()) as { sessions: unknown[] }).sessions,
    ).toHaveLength(0);

    const target = all[0]!;
    for (const token of [bob, gus]) {
      expect((await h.api(`/api/chat/sessions/${target}/messages`, { token })).status).toBe(404);
      expect((await h.api(`/api/chat/sessions/${target}`, { token, method: 'DELETE' })).status).toBe(404);
      expect((await h.api('/api/chat/messages', { token, body: { message: 'hi', session_id: target } })).status).toBe(
        404,
      );
    }
    const msgs = (await (await h.api(`/api/chat/sessions/${target}/messages?limit=1`, { token: alice })).json()) as {
      messages: Msg[];
      next_cursor: string;
    };
    expect(msgs.messages).toHaveLength(1);
    expect(msgs.messages[0]!.role).toBe('assistant');
    const older = (await (
      await h.api(`/api/chat/sessions/${target}/messages?limit=1&cursor=${msgs.next_cursor}`, { token: alice })
    ).json()) as { messages: Msg[]; next_cursor: string | null };
    expect(older).toMatchObject({ messages: [{ role: 'user', content: 'what is this?' }], next_cursor: null });

    const del = await h.api(`/api/chat/sessions/${target}`, { token: alice, method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await countOf(h.em(), `select count(*)::int as n from chat_message where session_id = ?`, [target])).toBe(0);
    expect((await h.api(`/api/chat/sessions/${target}/messages`, { token: alice })).status).toBe(404);
  });
});

describe('forged session cursors', () => {
  it('a cursor whose date is none or whose id is no uuid is a 400 with the error shape, not a database error', async () => {
    const forge = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    const id = '7d0c3f9e-8a4b-4c2d-9e1f-0a1b2c3d4e5f';
    for (const parts of [
      ['not-a-date', id],
      ['2026-02-30 10:00:00+00', id],
      ['0000-01-01 00:00:00+00', id],
      ['2026-03-02 10:00:00+16', id],
      ['2026-03-02 10:00:00+00', 'not-a-uuid'],
      ['2026-03-02 10:00:00+00', id, 'extra'],
      { a: 1 },
    ]) {
      const res = await h.api(`/api/chat/sessions?cursor=${forge(parts)}`, { token: alice });
      expect({ parts, status: res.status }).toEqual({ parts, status: 400 });
      expect(await res.json()).toEqual({
        error: { code: 'invalid_query', message: 'cursor is not a next_cursor of this API.' },
      });
    }
    const genuine = await h.api(`/api/chat/sessions?cursor=${forge(['2026-03-02 10:00:00.123456+00', id])}`, {
      token: alice,
    });
    expect(genuine.status).toBe(200);
  });
});

describe('tenant without AI, CORS, OpenAPI', () => {
  it('answers with the not-configured message and reports it in /api/me', async () => {
    const me = await (await h.api('/api/me', { token: gus })).json();
    expect(me).toMatchObject({ ai: { configured: false, limit_reached: false } });
    const r = await send(gus, { message: 'hello' });
    expect(r.response.content).toMatch(/AI is not configured for Tenant globex/);
  });

  it('reports a used-up monthly allowance in /api/me', async () => {
    const t = await makeTenant(h.em(), 'capped');
    await h.enableAi(t.tenant.id);
    await h.em().execute(`update tenant set monthly_token_limit = 0 where id = ?`, [t.tenant.id]);
    const token = await h.token(t.tenant.id, 'carl', 'viewer');
    expect(await (await h.api('/api/me', { token })).json()).toMatchObject({
      ai: { configured: true, limit_reached: true },
    });
    const calls = h.llm.requests.length;
    expect((await send(token, { message: 'hello' })).response.content).toMatch(/monthly AI allowance/);
    expect(h.llm.requests.length).toBe(calls);
  });

  it('gives CORS headers only to configured origins', async () => {
    const allowed = await h.api('/api/me', { token: alice, headers: { origin: 'https://saas.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://saas.example');
    const other = await h.api('/api/me', { token: alice, headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers CORS preflights for the API: allowed origins 204 with the allowed headers, others 403', async () => {
    const preflight = (origin: string) =>
      fetch(`${h.base}/api/chat/messages`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const ok = await preflight('https://saas.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://saas.example');
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect((await preflight('https://evil.example')).status).toBe(403);
    const path = await fetch(`${h.base}/api/actions/00000000-0000-4000-8000-000000000000/confirm`, {
      method: 'OPTIONS',
      headers: { origin: 'https://saas.example', 'access-control-request-method': 'POST' },
    });
    expect(path.status).toBe(204);
  });

  it('serves an OpenAPI 3.1 document generated from the schemas, identical to docs/openapi.json', async () => {
    const served = await fetch(`${h.base}/api/openapi.json`);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe(JSON.stringify(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))));
    const doc = apiDocument as unknown as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string }>>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(ids).toEqual([
      'sendMessage',
      'uploadFile',
      'listSessions',
      'getSessionMessages',
      'stopSession',
      'deleteSession',
      'giveFeedback',
      'confirmAction',
      'cancelAction',
      'getMe',
      'login',
    ]);
    expect(Object.keys(doc.components.schemas.SendMessageRequest!.properties)).toEqual([
      'message',
      'session_id',
      'context_type',
      'context_id',
      'files',
    ]);
  });
});

describe('rate limits', () => {
  it('answers 429 with retry-after once a token exceeds its per-minute budget', async () => {
    const limited = await startWebHarness({ settings: { rateLimitPerMinute: 3 } });
    try {
      const t = await makeTenant(limited.em(), 'rl');
      const token = await limited.token(t.tenant.id, 'u', 'viewer');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await limited.api('/api/me', { token })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const res = await limited.api('/api/me', { token });
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await res.json()).toMatchObject({ error: { code: 'rate_limited' } });
      // Another token is unaffected.
      expect((await limited.api('/api/me', { token: await limited.token(t.tenant.id, 'w', 'viewer') })).status).toBe(
        200,
      );
    } finally {
      await limited.close();
    }
  });
});
