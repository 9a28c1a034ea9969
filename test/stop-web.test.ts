import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countOf, rows } from './support/rows.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import type { FakeLlmRequest, FakeStep } from './fakes/llm-server.ts';
import { saidIn } from './support/prompt.ts';

/*
 * A Stop that stops (docs/design.md §12), through the web API: the model request in flight is
 * aborted (the fake sees the connection close), the turn ends with "Stopped by …" and nothing
 * else, the next message is answered, and it works when another process holds the lease.
 */

let h: WebHarness;
/** An HTTP-only process (`serve --no-worker`) on the same database: it runs no turns. */
let front: WebHarness;
let acme: TenantFixture;
let globex: TenantFixture;
let alice: string;
let aliceFront: string;
let bob: string;
let gus: string;

type Msg = {
  id: string;
  role: string;
  content: string;
  cursor: string;
  reply: { blocks: { type: string; text?: string; actionId?: string; status?: string }[] } | null;
};
type ChatResult = { session_id: string; message: Msg; response: Msg };

/** A model step that holds its request open until the client closes it, and says when it arrived. */
function held(): { step: FakeStep; arrived: Promise<FakeLlmRequest> } {
  let arrive!: (req: FakeLlmRequest) => void;
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

beforeAll(async () => {
  h = await startWebHarness();
  front = await startWebHarness({ db: h.db, app: { worker: false } });
  acme = await makeTenant(h.em(), 'acme');
  globex = await makeTenant(h.em(), 'globex');
  await h.enableAi(acme.tenant.id);
  alice = await h.token(acme.tenant.id, 'alice', 'operator');
  aliceFront = alice;
  bob = await h.token(acme.tenant.id, 'bob', 'viewer');
  gus = await h.token(globex.tenant.id, 'gus', 'operator');
});
afterAll(async () => {
  await front?.close();
  await h?.close();
});

async function send(on: WebHarness, token: string, body: Record<string, unknown>): Promise<ChatResult> {
  const res = await on.api('/api/chat/messages', { token, body });
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
  return (await res.json()) as ChatResult;
}

async function messages(sessionId: string, after?: string): Promise<Msg[]> {
  const res = await h.api(`/api/chat/sessions/${sessionId}/messages${after ? `?after=${after}&wait=20` : ''}`, {
    token: alice,
  });
  return ((await res.json()) as { messages: Msg[] }).messages;
}

describe('Stop through the web API', () => {
  it('POST /stop aborts the model request in flight; the turn ends "Stopped by …" and the next message is answered', async () => {
    const { session_id: sessionId } = await send(h, alice, { message: 'help' });
    const hold = held();
    h.llm.enqueue(hold.step);
    const asking = send(h, alice, { session_id: sessionId, message: 'Which orders failed this week?' });
    await hold.arrived;
    const closed = h.llm.whenClientClosed();

    const res = await h.api(`/api/chat/sessions/${sessionId}/stop`, { token: alice, method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'stopping', message: 'Stopping.' });
    await closed;
    const stopped = await asking;
    expect(stopped.response.content).toBe('Stopped by alice.');

    // Nothing else was said: the question and the stopped note, one each.
    const all = await messages(sessionId);
    const after = all.slice(all.findIndex((m) => m.id === stopped.message.id));
    expect(after.map((m) => [m.role, m.reply?.blocks.map((b) => b.text).join('') ?? m.content])).toEqual([
      ['user', 'Which orders failed this week?'],
      ['assistant', 'Stopped by alice.'],
    ]);

    // The session's next message runs normally; the model hears of the stop without a name.
    h.llm.enqueue({ content: 'Two orders failed this week.' });
    const next = await send(h, alice, { session_id: sessionId, message: 'Which orders failed this week?' });
    expect(next.response.content).toBe('Two orders failed this week.');
    const said = saidIn(h.llm.requests.at(-1)!);
    expect(said).toContain('(Stopped by a person in this conversation before the answer was finished.)');
    expect(said.join('\n')).not.toContain('Stopped by alice');
    h.llm.assertDone();
  });

  it('the word `stop` as a message stops the running turn at once, not after it', async () => {
    const { session_id: sessionId } = await send(h, alice, { message: 'help' });
    const hold = held();
    h.llm.enqueue(hold.step);
    const asking = send(h, alice, { session_id: sessionId, message: 'Summarise this month.' });
    await hold.arrived;
    const closed = h.llm.whenClientClosed();
    const stop = await send(h, alice, { session_id: sessionId, message: 'stop' });
    expect(stop.response.content).toBe('Stopping.');
    await closed;
    expect((await asking).response.content).toBe('Stopped by alice.');
    h.llm.assertDone();
  });

  it("nothing running: idle; another tenant's or another person's session: 404 and nothing stops", async () => {
    const { session_id: sessionId } = await send(h, alice, { message: 'help' });
    const idle = await h.api(`/api/chat/sessions/${sessionId}/stop`, { token: alice, method: 'POST' });
    expect(await idle.json()).toEqual({ status: 'idle', message: 'Nothing is running in this conversation.' });

    const hold = held();
    h.llm.enqueue(hold.step);
    const asking = send(h, alice, { session_id: sessionId, message: 'Keep going.' });
    await hold.arrived;
    const closedBefore = h.llm.clientClosed.length;
    for (const token of [gus, bob]) {
      const res = await h.api(`/api/chat/sessions/${sessionId}/stop`, { token, method: 'POST' });
      expect(res.status).toBe(404);
      const word = await h.api('/api/chat/messages', { token, body: { session_id: sessionId, message: 'stop' } });
      expect(word.status).toBe(404);
    }
    expect(h.llm.clientClosed.length).toBe(closedBefore);
    const closed = h.llm.whenClientClosed();
    await h.api(`/api/chat/sessions/${sessionId}/stop`, { token: alice, method: 'POST' });
    await closed;
    expect((await asking).response.content).toBe('Stopped by alice.');
  });

  it('a stop sent to a process that does not hold the lease still stops the turn (through the database)', async () => {
    // `front` runs no turns: the turn runs in `h`'s runner, the stop arrives at `front`.
    const { session_id: sessionId } = await send(front, aliceFront, { message: 'help' });
    const hold = held();
    h.llm.enqueue(hold.step);
    const asking = send(front, aliceFront, { session_id: sessionId, message: 'What is rendering now?' });
    await hold.arrived;
    const closed = h.llm.whenClientClosed();
    const res = await front.api(`/api/chat/sessions/${sessionId}/stop`, { token: aliceFront, method: 'POST' });
    expect(await res.json()).toMatchObject({ status: 'stopping' });
    await closed;
    expect((await asking).response.content).toBe('Stopped by alice.');
    h.llm.assertDone();
  });

  it('a stop after a committed write reports the write and offers no confirmation', async () => {
    h.llm.enqueue({
      toolCalls: [
        {
          name: 'create_order',
          arguments: {
            product_ids: Object.values(acme.productIds).slice(0, 2),
            output_type_name: 'WebP 1024x1024',
            submit: false,
            material_override: null,
            render_overrides: null,
          },
        },
      ],
    });
    const r = await send(h, alice, { message: 'Order renders of two products as WebP 1024x1024' });
    const card = r.response.reply!.blocks.find((b) => b.type === 'confirm')!;
    const before = (await messages(r.session_id)).at(-1)!.cursor;

    // The follow-up after the confirmation waits on the model; it is stopped there.
    const hold = held();
    h.llm.enqueue(hold.step);
    const closed = h.llm.whenClientClosed();
    expect((await h.api(`/api/actions/${card.actionId}/confirm`, { token: alice, body: {} })).status).toBe(200);
    await hold.arrived;
    await h.api(`/api/chat/sessions/${r.session_id}/stop`, { token: alice, method: 'POST' });
    await closed;

    const [order] = await rows(
      h.em(),
      z.object({ order_number: z.string() }),
      `select order_number from render_order where tenant_id = ?`,
      [acme.tenant.id],
    );
    let said: Msg[] = [];
    for (let polls = 0; polls < 3 && !said.some((m) => m.content.includes('Stopped')); polls++)
      said = await messages(r.session_id, before);
    const note = said.find(
      (m) => m.role === 'assistant' && m.reply?.blocks.some((b) => b.text?.includes('Stopped by alice.')),
    );
    // The committed write is reported with the stop …
    expect(note?.reply?.blocks.map((b) => b.text).join('')).toContain(order!.order_number);
    // … and nothing asks for a confirmation afterwards.
    expect(said.flatMap((m) => m.reply?.blocks ?? []).filter((b) => b.type === 'confirm')).toEqual([]);
    expect(
      await countOf(
        h.em(),
        `select count(*)::int as n from pending_action where tenant_id = ? and status = 'pending'`,
        [acme.tenant.id],
      ),
    ).toBe(0);
    h.llm.assertDone();
  });
});
