import { expect } from 'vitest';
import type { SlackHarness } from '../fakes/slack-harness.ts';
import type { SlackCall } from '../fakes/slack-api.ts';
import type { FakeLlmRequest } from '../fakes/llm-server.ts';
import { mentionEvent, type Who } from '../fakes/slack-request.ts';

/** All text a Slack call carries (text + blocks), for loose assertions. */
export const shown = (c: SlackCall) => JSON.stringify({ text: c.body.text, blocks: c.body.blocks });
/** Whether a Slack message is a pending confirm card. */
export const isCard = (c: SlackCall) => JSON.stringify(c.body.blocks ?? []).includes('"renderbot.confirm"');

/** The JSON the agent sent back for the latest tool call named `name`. */
export function toolResult(req: FakeLlmRequest, name: string): unknown {
  const msgs = req.body.messages;
  const call = [...msgs]
    .reverse()
    .flatMap((m) => (m.tool_calls as { id: string; function: { name: string } }[] | undefined) ?? [])
    .find((c) => c.function.name === name);
  return JSON.parse(String(msgs.find((m) => m.role === 'tool' && m.tool_call_id === call?.id)?.content));
}

/** Scripts the model to propose rendering the Kugellager (search, then one create_order) and mentions the bot; returns the posted card. */
export async function proposeKugellagerOrder(h: SlackHarness, who: Who, bot: { botUserId: string }) {
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
  const env = mentionEvent(who, 'Render all Kugellager products as WebP at 1024x1024', bot);
  expect((await h.send.event(env)).status).toBe(200);
  // The card is the turn's first reply: it replaces the message that streamed the steps (the "Working on it…" placeholder is removed).
  const { placeholder, update: card } = await h.answer((c) => c.body.thread_ts === env.event.ts);
  expect(isCard(card)).toBe(true);
  const actions = (
    card.body.blocks as { type: string; elements?: { action_id: string; value: string; style?: string }[] }[]
  ).find((b) => b.type === 'actions')!;
  const actionId = actions.elements!.find((e) => e.action_id === 'renderbot.confirm')!.value;
  return {
    env,
    card,
    actionId,
    ts: String(card.body.ts),
    placeholderTs: String(placeholder.response!.ts),
    threadTs: env.event.ts as string,
    actions,
  };
}
