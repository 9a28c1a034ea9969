import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOf } from './support/rows.ts';
import { type App } from '../bot/app.ts';
import { type ConnectorCall, type FakeConnector } from './fakes/bot-connector.ts';
import { type FakeLlm } from './fakes/llm-server.ts';
import { cardSchemaProblems } from './support/adaptive-card.ts';
import { LATEST_ORDERS } from '../core/tools/next-steps.ts';
import { startTeamsApp, TEAMS_AAD, type TeamsTestApp } from './support/teams-app.ts';

const AAD = TEAMS_AAD;
const fixture = (name: string) =>
  JSON.parse(readFileSync(`test/fixtures/teams/${name}.json`, 'utf8')) as Record<string, unknown> & {
    conversation: Record<string, unknown>;
    from: Record<string, unknown>;
    channelData: Record<string, unknown>;
  };

let app: App;
let llm: FakeLlm;
let connector: FakeConnector;
let base: string;
let seq = 0;

let h: TeamsTestApp;
beforeAll(async () => {
  h = await startTeamsApp();
  ({ app, llm, connector, base } = h);
});
afterAll(() => h?.close());

/** A fixture activity pointed at the fake connector, with a fresh id. */
function activity(
  name: string,
  o: { text?: string; conversationId?: string; value?: unknown; replyToId?: string } = {},
) {
  const a = fixture(name);
  a.serviceUrl = connector.url;
  a.id = `17642${String(++seq).padStart(8, '0')}`;
  if (o.text !== undefined) a.text = o.text;
  if (o.conversationId) a.conversation.id = o.conversationId;
  if (o.value !== undefined) a.value = o.value;
  if (o.replyToId) a.replyToId = o.replyToId;
  return a;
}
async function post(body: unknown) {
  const res = await fetch(`${base}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.status;
}
function scriptSearch() {
  llm.enqueue(
    { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 25 } }] },
    { content: 'Three Kugellager products match.' },
  );
}
const inConversation = (id: string) => (c: ConnectorCall) =>
  c.conversationId === id && c.activity.type === 'message' && c.refused === undefined;
const cardOf = (c: ConnectorCall) =>
  (c.activity.attachments as { content: { body: Record<string, unknown>[] } }[] | undefined)?.[0]?.content;
const userMessages = (content: string) =>
  countOf(app.db.orm.em.fork(), `select count(*)::int as n from chat_message where role = 'user' and content = ?`, [
    content,
  ]);

describe('Teams suggestions', () => {
  it("installed in a personal chat: the welcome offers where to start, from the tenant's state", async () => {
    const a = activity('conversation-update-bot-added', { conversationId: `a:1personal-welcome-${++seq}` });
    a.conversation = { conversationType: 'personal', tenantId: AAD, id: a.conversation.id };
    delete (a.channelData as { team?: unknown }).team;
    a.channelData.eventType = undefined;
    a.from = {
      id: '29:1Xq9bKc7TzR2mWvA0pLdE3fHsYgNuJiOkB4xV8cZ5aQ-anna',
      name: 'Anna Schmidt',
      aadObjectId: '6b2a1f0e-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
    };
    expect(await post(a)).toBe(200);
    const [welcome] = await connector.waitFor(1, inConversation(a.conversation.id as string));
    expect(welcome!.activity.text).toMatch(/I am \*\*RenderBot\*\*/);
    expect(welcome!.activity.suggestedActions).toEqual({
      actions: [{ type: 'imBack', title: LATEST_ORDERS, value: LATEST_ORDERS }],
    });
  });

  it('in a personal chat: the answer carries suggestedActions (imBack) with the next steps', async () => {
    scriptSearch();
    const conv = `a:1personal-suggestions-${++seq}`;
    expect(
      await post(activity('personal-message', { text: 'Which Kugellager products are there?', conversationId: conv })),
    ).toBe(200);
    const [answer] = await connector.waitFor(
      1,
      (c) => inConversation(conv)(c) && c.activity.suggestedActions !== undefined,
    );
    expect(answer!.activity.suggestedActions).toEqual({
      actions: [{ type: 'imBack', title: 'Render these 3 products', value: 'Render these 3 products' }],
    });
    // A personal chat gets no card buttons for them.
    expect(JSON.stringify(answer!.activity.attachments ?? [])).not.toContain('Action.Submit');
    llm.assertDone();
  });

  it('in a channel: card buttons (messageBack); a double click is one message of the clicker, answered once', async () => {
    scriptSearch();
    const conv = `19:c0ffee42a1b2c3d4e5f6a7b8c9d0e1f2@thread.tacv2;messageid=17642${String(++seq).padStart(8, '0')}`;
    expect(
      await post(
        activity('channel-mention', {
          text: '<at>RenderBot</at> Which Kugellager products are there?',
          conversationId: conv,
        }),
      ),
    ).toBe(200);
    const [answer] = await connector.waitFor(
      1,
      (c) => inConversation(conv)(c) && JSON.stringify(c.activity).includes('Action.Submit'),
    );
    expect(answer!.activity.suggestedActions).toBeUndefined();
    const card = cardOf(answer!)!;
    expect(cardSchemaProblems(card)).toEqual([]);
    const set = card.body.at(-1)!;
    expect(set).toEqual({
      type: 'ActionSet',
      actions: [
        {
          type: 'Action.Submit',
          title: 'Render these 3 products',
          data: {
            renderbotSuggestion: 0,
            msteams: { type: 'messageBack', text: 'Render these 3 products', displayText: 'Render these 3 products' },
          },
        },
      ],
    });

    // Teams sends a messageBack as a message activity: the text, the data without msteams as `value`, and the card's id as replyToId.
    llm.enqueue({ content: 'Which output type should they have?' });
    const calls = llm.requests.length;
    const click = () =>
      activity('channel-mention', {
        text: 'Render these 3 products',
        conversationId: conv,
        value: { renderbotSuggestion: 0 },
        replyToId: answer!.id!,
      });
    expect(await Promise.all([post(click()), post(click())])).toEqual([200, 200]);
    await connector.waitFor(
      1,
      (c) => inConversation(conv)(c) && JSON.stringify(c.activity).includes('Which output type should they have?'),
    );
    expect(llm.requests.length - calls).toBe(1);
    expect(await userMessages('Render these 3 products')).toBe(1);
    llm.assertDone();
  });
});
