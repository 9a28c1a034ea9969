import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { createCoreHarness, texts, type CoreHarness } from './support/core.ts';
import { countOf } from './support/rows.ts';

let h: CoreHarness;
let acme: TenantFixture;
const delivery = { platform: 'cli' as const, target: { channel: 'test' } };

beforeAll(async () => {
  h = await createCoreHarness();
  acme = await makeTenant(h.em(), 'acme');
  await h.enableAi(acme.tenant.id);
});
afterAll(async () => {
  await h.close();
});

describe('durable turn queue', () => {
  it('answers two messages of one session in order, never concurrently', async () => {
    const turn = await h.turn(acme.tenant.id);
    // From two people, so the waiting second message is not merged into the first (docs/design.md §4).
    const other = { ...turn, userId: 'second-user' };
    const start = h.delivered.length;
    let firstDone = false;
    h.llm.enqueue({ content: 'First answer.', delayMs: 300 }, (req) => {
      // The second turn only starts after the first one stored its answer.
      const history = req.body.messages.map((m) => String(m.content));
      return { content: history.includes('First answer.') && firstDone ? 'Second answer.' : 'ran concurrently!' };
    });
    await h.conversations.submit({ turn, text: 'first question', delivery });
    await h.conversations.submit({ turn: other, text: 'second question', delivery });
    const firstDelivered = h.deliveredCount(start + 1).then(() => {
      firstDone = true;
    });
    await firstDelivered;
    await h.deliveredCount(start + 2);
    expect(h.delivered.slice(start).map((d) => texts([d.reply]))).toEqual(['First answer.', 'Second answer.']);
    h.llm.assertDone();
  });

  it('runs a redelivered platform event once, even after its job finished', async () => {
    const turn = await h.turn(acme.tenant.id);
    const start = h.delivered.length;
    h.llm.enqueue({ content: 'Only once.' });
    expect(await h.conversations.submit({ turn, text: 'hello', delivery, eventId: 'Ev001' })).toMatchObject({
      status: 'queued',
    });
    expect(await h.conversations.submit({ turn, text: 'hello', delivery, eventId: 'Ev001' })).toEqual({
      status: 'duplicate',
    });
    await h.deliveredCount(start + 1);
    expect(await h.conversations.submit({ turn, text: 'hello', delivery, eventId: 'Ev001' })).toEqual({
      status: 'duplicate',
    });
    const stored = await countOf(
      h.em(),
      `select count(*)::int as n from chat_message where session_id = ? and role = 'user'`,
      [turn.sessionId],
    );
    expect(stored).toBe(1);
    h.llm.assertDone();
  });

  it('a button confirm answers at once and queues the model follow-up into the thread', async () => {
    const turn = await h.turn(acme.tenant.id);
    const ids = Object.entries(acme.productIds)
      .filter(([pim]) => pim.includes('-KL-'))
      .map(([, id]) => id);
    h.llm.enqueue({
      toolCalls: [
        {
          name: 'create_order',
          arguments: {
            product_ids: ids,
            output_type_name: 'webp 1024x1024',
            submit: null,
            material_override: null,
            render_overrides: null,
          },
        },
      ],
    });
    const [proposal] = await h.conversations.respond(turn, 'render the Kugellager as webp');
    const actionId = proposal!.blocks.find((b) => b.type === 'confirm')!;
    if (actionId.type !== 'confirm') throw new Error('expected a confirm block');
    const start = h.delivered.length;
    h.llm.enqueue((req) => ({
      content: `Follow-up: ${/SA-\d{4}-\d{5}/.exec(String(req.body.messages.at(-1)?.content))?.[0]}`,
    }));
    const decision = await h.conversations.confirm(
      { tenantId: acme.tenant.id, userId: 'alice', role: 'operator', platform: 'cli' },
      actionId.actionId,
      delivery,
    );
    expect(decision).toMatchObject({ ok: true, status: 'done' });
    await h.deliveredCount(start + 1);
    expect(texts([h.delivered[start]!.reply])).toMatch(/^Follow-up: SA-\d{4}-\d{5}$/);
    h.llm.assertDone();
  });
});
