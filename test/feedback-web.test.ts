import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { rows } from './support/rows.ts';
import { z } from 'zod';

let h: WebHarness;
let acme: TenantFixture;
let alice: string;
let bob: string;
let gus: string;

type Reply = { blocks: { type: string }[]; answer?: { id: string; sources: Record<string, unknown>[] } };
type ChatResult = { session_id: string; response: { id: string; reply: Reply | null } };

beforeAll(async () => {
  h = await startWebHarness({ env: { PUBLIC_URL: 'https://renderbot.example.com' } });
  acme = await makeTenant(h.em(), 'acme');
  const globex = await makeTenant(h.em(), 'globex', { prefix: 'GLOBEX' });
  await h.enableAi(acme.tenant.id);
  alice = await h.token(acme.tenant.id, 'alice', 'operator');
  bob = await h.token(acme.tenant.id, 'bob', 'viewer');
  gus = await h.token(globex.tenant.id, 'gus', 'operator');
});
afterAll(async () => {
  await h.close();
});

const feedback = (token: string, answerId: string, body: unknown) =>
  h.api(`/api/chat/answers/${answerId}/feedback`, { token, method: 'PUT', body });
const storedFeedback = z.object({ user_id: z.string(), rating: z.string(), reason: z.string().nullable() });
const feedbackRows = (answerId: string) =>
  rows(
    h.em(),
    storedFeedback,
    `select user_id, rating, reason from answer_feedback where message_id = ? order by user_id`,
    [answerId],
  );

describe('web: agent answers are labelled with their sources and take feedback', () => {
  it('an answer carries its id and sources; 👍/👎 with a reason are stored per person, a second one replaces the first', async () => {
    const order = await createOrder(h.em(), acme.tenant.id, {
      products: { refs: ['ACME-KL-6204'] },
      outputTypeName: 'WebP 1024x1024',
      submit: false,
      createdBy: 'seed',
      now: new Date(),
    });
    h.llm.enqueue(
      { toolCalls: [{ name: 'list_orders', arguments: { status: null, limit: 10 } }] },
      { content: `Your newest order is ${order.orderNumber}.` },
    );
    const res = await h.api('/api/chat/messages', { token: alice, body: { message: 'what are my orders?' } });
    expect(res.status).toBe(200);
    const { response, session_id: sessionId } = (await res.json()) as ChatResult;
    const answer = response.reply!.answer!;
    expect(answer.id).toBe(response.id);
    expect(answer.sources).toEqual([
      {
        kind: 'order',
        number: order.orderNumber,
        url: expect.stringMatching(
          new RegExp(`^https://renderbot\\.example\\.com/orders/${order.orderId}/results\\?exp=\\d+&sig=[0-9a-f]{64}$`),
        ),
      },
      { kind: 'count', count: 1, what: 'orders' },
    ]);

    // The stored conversation shows the same answer after a reload.
    const history = await h.api(`/api/chat/sessions/${sessionId}/messages`, { token: alice });
    const stored = ((await history.json()) as { messages: { id: string; reply: Reply | null }[] }).messages.find(
      (m) => m.id === answer.id,
    );
    expect(stored?.reply?.answer?.id).toBe(answer.id);

    const down = await feedback(alice, answer.id, { rating: 'down', reason: '  It ignored the drafts.  ' });
    expect(down.status).toBe(200);
    expect(await down.json()).toEqual({ answer_id: answer.id, rating: 'down', reason: 'It ignored the drafts.' });
    expect((await feedback(bob, answer.id, { rating: 'up' })).status).toBe(200);
    expect((await feedback(alice, answer.id, { rating: 'up' })).status).toBe(200);
    expect(await feedbackRows(answer.id)).toEqual([
      { user_id: 'alice', rating: 'up', reason: null },
      { user_id: 'bob', rating: 'up', reason: null },
    ]);

    // Another tenant's token cannot see or rate it; malformed input is one clear sentence.
    const foreign = await feedback(gus, answer.id, { rating: 'down' });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toEqual({ error: { code: 'not_found', message: 'This answer was not found.' } });
    expect((await feedback(alice, 'not-a-uuid', { rating: 'up' })).status).toBe(404);
    const bad = await feedback(alice, answer.id, { rating: 'meh' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_body');
    expect(await feedbackRows(answer.id)).toHaveLength(2);
  });

  it('cites the counts behind pipeline statistics', async () => {
    h.llm.enqueue(
      { toolCalls: [{ name: 'get_render_stats', arguments: {} }] },
      { content: 'Nothing failed in the last 30 days.' },
    );
    const res = await h.api('/api/chat/messages', {
      token: alice,
      body: { message: 'how many renders failed this month?' },
    });
    const { response } = (await res.json()) as ChatResult;
    expect(response.reply!.answer!.sources).toEqual([
      { kind: 'count', count: 0, what: 'render jobs completed in the last 30 days' },
      { kind: 'count', count: 0, what: 'render jobs failed in the last 30 days' },
    ]);
  });

  it('command output is no agent answer: it has no feedback id', async () => {
    const res = await h.api('/api/chat/messages', { token: alice, body: { message: 'help' } });
    const { response } = (await res.json()) as ChatResult;
    expect(response.reply?.answer).toBeUndefined();
    expect((await feedback(alice, response.id, { rating: 'up' })).status).toBe(404);
  });
});
