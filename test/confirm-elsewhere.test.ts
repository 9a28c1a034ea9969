import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';

/*
 * Issue 12 item 5: confirming someone else's action (web `confirm <id>`) must not replay the
 * follow-up of their conversation to the confirmer: it belongs in the session where it was asked.
 */

type Msg = { content: string; cursor: string };
type ChatResult = { session_id: string; response: { content: string; reply?: { blocks: { type: string }[] } } };

let h: WebHarness;
let acme: TenantFixture;
let alice: string;
let bob: string;

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

async function send(token: string, body: Record<string, unknown>): Promise<ChatResult> {
  const res = await h.api('/api/chat/messages', { token, body });
  expect(res.status).toBe(200);
  return (await res.json()) as ChatResult;
}

describe('a plan confirmed from another conversation', () => {
  it("confirming someone else's action from your own conversation: the follow-up stays in theirs; you get where to find it", async () => {
    h.llm.enqueue({
      toolCalls: [
        {
          name: 'create_order',
          arguments: {
            product_ids: ['ACME-KL-6204'],
            output_type_name: 'WebP 1024x1024',
            submit: true,
            material_override: null,
            render_overrides: null,
          },
        },
      ],
    });
    const asked = await send(alice, { message: 'render the 6204 as WebP' });
    const card = asked.response.reply!.blocks.find((b) => b.type === 'confirm') as unknown as { actionId: string };
    const own = await send(bob, { message: 'orders' });
    const aliceBefore = (await (
      await h.api(`/api/chat/sessions/${asked.session_id}/messages`, { token: alice })
    ).json()) as { messages: Msg[] };
    h.llm.enqueue({ content: 'Your order is on its way (private follow-up for alice).' });
    // bob confirms alice's action by typing it into his own conversation.
    const decided = await send(bob, { message: `confirm ${card.actionId}`, session_id: own.session_id });
    expect(decided.response.content).toContain("Confirmed — the result is in alice's conversation.");
    expect(JSON.stringify(decided)).not.toContain('private follow-up');
    // The follow-up arrives in alice's session, not in bob's.
    const poll = (await (
      await h.api(
        `/api/chat/sessions/${asked.session_id}/messages?after=${aliceBefore.messages.at(-1)!.cursor}&wait=20`,
        { token: alice },
      )
    ).json()) as { messages: Msg[] };
    expect(poll.messages.map((m) => m.content)).toContain('Your order is on its way (private follow-up for alice).');
    const bobs = (await (await h.api(`/api/chat/sessions/${own.session_id}/messages`, { token: bob })).json()) as {
      messages: Msg[];
    };
    expect(bobs.messages.map((m) => m.content).join('\n')).not.toContain('private follow-up');
    h.llm.assertDone();
  });
});
