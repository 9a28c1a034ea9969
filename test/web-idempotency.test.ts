import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFingerprint } from '../core/idempotency.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { readEvents, startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { countOf } from './support/rows.ts';

let h: WebHarness;
let acme: TenantFixture;
let alice: string; // acme operator
let bob: string; // acme operator, another user

type ChatResult = {
  session_id: string;
  message: { id: string; content: string };
  response: { id: string; content: string; reply: { blocks: { type: string; actionId?: string }[] } | null };
};

beforeAll(async () => {
  h = await startWebHarness();
  acme = await makeTenant(h.em(), 'acme');
  await h.enableAi(acme.tenant.id);
  alice = await h.token(acme.tenant.id, 'alice', 'operator');
  bob = await h.token(acme.tenant.id, 'bob', 'operator');
});
afterAll(async () => {
  await h.close();
});

const send = (
  key: string,
  body: Record<string, unknown>,
  o: { token?: string; harness?: WebHarness; headers?: Record<string, string> } = {},
) =>
  (o.harness ?? h).api('/api/chat/messages', {
    token: o.token ?? alice,
    body,
    headers: { 'idempotency-key': key, ...o.headers },
  });

/** How many user messages with `text` are stored (one per turn started). */
const turnsFor = async (text: string) =>
  countOf(h.em(), `select count(*)::int as n from chat_message where role = 'user' and content = ?`, [text]);

describe('Idempotency-Key on POST /api/chat/messages', () => {
  it('a repeat with the same key and body returns the first answer and starts no second turn', async () => {
    h.llm.enqueue({ content: 'Nothing is rendering right now.' });
    const calls = h.llm.requests.length;
    const first = await send('key-sequential', { message: 'what is rendering?' });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await send('key-sequential', { message: 'what is rendering?' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    expect(h.llm.requests.length - calls).toBe(1);
    expect(await turnsFor('what is rendering?')).toBe(1);
    h.llm.assertDone();
  });

  it('concurrent repeats wait for the first: one turn, one model call, the same answer (also streamed)', async () => {
    h.llm.enqueue({ content: 'Three orders are open.', delayMs: 300 });
    const calls = h.llm.requests.length;
    const body = { message: 'how many open orders?' };
    const [a, b, c, streamed] = await Promise.all([
      send('key-concurrent', body),
      send('key-concurrent', body),
      send('key-concurrent', body),
      send('key-concurrent', body, { headers: { accept: 'text/event-stream' } }),
    ]);
    expect([a.status, b.status, c.status, streamed.status]).toEqual([200, 200, 200, 200]);
    const [ja, jb, jc] = (await Promise.all([a.json(), b.json(), c.json()])) as ChatResult[];
    expect(jb).toEqual(ja);
    expect(jc).toEqual(ja);
    const events = await readEvents(streamed);
    expect(events[0]).toMatchObject({ event: 'session', data: { session_id: ja!.session_id } });
    expect(events.at(-1)).toEqual({ event: 'done', data: ja });
    expect(ja!.response.content).toBe('Three orders are open.');
    expect(h.llm.requests.length - calls).toBe(1);
    expect(await turnsFor('how many open orders?')).toBe(1);
    h.llm.assertDone();
  });

  it("the same key with another body is refused with 422; another user's same key is another key", async () => {
    h.llm.enqueue({ content: 'Hello Alice.' }, { content: 'Hello Bob.' });
    expect((await send('key-shared', { message: 'hello' })).status).toBe(200);
    const other = await send('key-shared', { message: 'hello again' });
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ error: { code: 'idempotency_key_reused' } });
    const bobs = await send('key-shared', { message: 'hello' }, { token: bob });
    expect(bobs.status).toBe(200);
    expect(bobs.headers.get('idempotent-replayed')).toBeNull();
    expect(((await bobs.json()) as ChatResult).response.content).toBe('Hello Bob.');
    expect(await turnsFor('hello')).toBe(2);
    h.llm.assertDone();
  });

  it('a request refused before its turn was queued keeps no answer: its repeat is handled anew', async () => {
    const body = { message: 'and this one?', session_id: '7d0c3f9e-8a4b-4c2d-9e1f-0a1b2c3d4e5f' };
    for (let i = 0; i < 2; i++) expect((await send('key-refused', body)).status).toBe(404);
    expect((await send('not a key', { message: 'hi' })).status).toBe(400);
    expect(await turnsFor('and this one?')).toBe(0);
  });

  it('a claim whose process died before it queued a turn is taken over by the repeat', async () => {
    const body = { message: 'is anything stuck?' };
    await h
      .em()
      .execute(
        `insert into idempotency_key (tenant_id, platform, user_id, key, fingerprint, created_at) values (?, 'web', 'alice', 'key-abandoned', ?, now() - interval '2 minutes')`,
        [acme.tenant.id, requestFingerprint(body)],
      );
    h.llm.enqueue({ content: 'Nothing is stuck.' });
    const res = await send('key-abandoned', body);
    expect(res.status).toBe(200);
    expect(((await res.json()) as ChatResult).response.content).toBe('Nothing is stuck.');
    expect(await turnsFor('is anything stuck?')).toBe(1);
    h.llm.assertDone();
  });

  it('holds across two processes on one database', async () => {
    const other = await startWebHarness({ db: h.db, env: { SECRETS_KEY: h.config.secretsKey.toString('hex') } });
    try {
      h.llm.enqueue({ content: 'Two renderers are idle.', delayMs: 300 });
      const calls = h.llm.requests.length;
      const body = { message: 'are renderers idle?' };
      const [here, there] = await Promise.all([
        send('key-processes', body),
        send('key-processes', body, { harness: other }),
      ]);
      expect([here.status, there.status]).toEqual([200, 200]);
      expect(await there.json()).toEqual(await here.json());
      expect(h.llm.requests.length - calls).toBe(1);
      expect(other.llm.requests).toHaveLength(0);
      expect(await turnsFor('are renderers idle?')).toBe(1);
      h.llm.assertDone();
    } finally {
      await other.close();
    }
  });
});

describe('confirm and cancel without a body', () => {
  it('a confirm card is confirmed with an empty POST (no content type): 200, not 415', async () => {
    h.llm.enqueue(
      {
        toolCalls: [
          {
            name: 'create_order',
            arguments: {
              product_ids: Object.values(acme.productIds).slice(0, 1),
              output_type_name: 'WebP 1024x1024',
              submit: true,
              material_override: null,
              render_overrides: null,
            },
          },
        ],
      },
      { content: 'The order was created.' },
    );
    const r = (await (await send('key-confirm', { message: 'render one product' })).json()) as ChatResult;
    const actionId = r.response.reply!.blocks.find((b) => b.type === 'confirm')!.actionId!;
    const res = await h.api(`/api/actions/${actionId}/confirm`, { token: alice, method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, status: 'done' });
    const cancel = await h.api(`/api/actions/${actionId}/cancel`, { token: alice, method: 'POST' });
    expect(cancel.status).toBe(409);
  });
});
