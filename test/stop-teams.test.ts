import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idRow } from '../core/db/sql.ts';
import { row } from './support/rows.ts';
import { type App } from '../bot/app.ts';
import { type ConnectorCall, type FakeConnector } from './fakes/bot-connector.ts';
import { type FakeLlm, type FakeLlmRequest, type FakeStep } from './fakes/llm-server.ts';
import { startTeamsApp, TEAMS_AAD, type TeamsTestApp } from './support/teams-app.ts';

/*
 * A Stop that stops, from Teams (docs/design.md §12): the Stop button of a streaming message
 * (Teams refuses the next streaming call with 403 ContentStreamNotAllowed) and the word `stop`
 * abort the model request in flight; "Stopped" is the only message posted afterwards; the next
 * message is answered.
 */

const AAD = TEAMS_AAD;
const fixture = (name: string) =>
  JSON.parse(readFileSync(`test/fixtures/teams/${name}.json`, 'utf8')) as Record<string, unknown> & {
    conversation: Record<string, unknown>;
    from: Record<string, unknown>;
    channelData: Record<string, unknown>;
  };

let llm: FakeLlm;
let connector: FakeConnector;
let app: App;
let base: string;
let seq = 0;

let h: TeamsTestApp;
beforeAll(async () => {
  h = await startTeamsApp();
  ({ app, llm, connector, base } = h);
});
afterAll(() => h?.close());

/** A click on a card's Stop action (Action.Execute, verb renderbot.stop) in the conversation. */
function stopClick(conversationId: string, sessionId: string, from?: Record<string, unknown>) {
  const a = fixture('invoke-card-action');
  a.serviceUrl = connector.url;
  a.id = `17643${String(++seq).padStart(8, '0')}`;
  a.conversation.id = conversationId;
  if (from) a.from = { ...a.from, ...from };
  a.value = {
    action: { type: 'Action.Execute', title: 'Stop', verb: 'renderbot.stop', data: { sessionId } },
    trigger: 'manual',
  };
  return a;
}

function personalMessage(conversationId: string, text: string) {
  const a = fixture('personal-message');
  a.serviceUrl = connector.url;
  a.id = `17642${String(++seq).padStart(8, '0')}`;
  a.text = text;
  a.conversation.id = conversationId;
  return a;
}

async function post(body: unknown) {
  const res = await fetch(`${base}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBeLessThan(300);
}

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

/** Messages the bot posted into the conversation (not typing, not streaming calls, not refused ones). */
const posted = (conv: string) =>
  connector.calls
    .filter((c: ConnectorCall) => c.conversationId === conv && c.activity.type === 'message' && c.refused === undefined)
    .map((c) => String(c.activity.text ?? JSON.stringify(c.activity.attachments)));

describe('Stop from Teams', () => {
  it('Stop on a streaming message: the next streaming call is refused (403 ContentStreamNotAllowed), the model request aborts, "Stopped." follows; the next message is answered', async () => {
    const conv = `a:personal-stop-${++seq}`;
    const long =
      'Kugellager are ball bearings. Your catalogue has three of them: the 6204, the 6205 and the 6206 2RS. '.repeat(6);
    // Two thirds of the text come (a chunk every 300 ms), then the stream stays open.
    llm.enqueue({ content: long, chunkDelayMs: 300, stallAfterChunks: 4 });
    await post(personalMessage(conv, 'tell me about our Kugellager'));
    await connector.waitFor(
      1,
      (c) =>
        c.conversationId === conv &&
        c.activity.type === 'typing' &&
        (c.activity.channelData as { streamType?: string } | undefined)?.streamType === 'streaming',
    );
    const closed = llm.whenClientClosed();
    connector.stopStream(conv);
    await closed;
    const [stopped] = await connector.waitFor(
      1,
      (c) => c.conversationId === conv && c.activity.type === 'message' && c.refused === undefined,
    );
    expect(stopped!.activity.text).toBe('Stopped.');
    expect(connector.calls.some((c) => c.conversationId === conv && c.refused === 403)).toBe(true);
    expect(posted(conv)).toEqual(['Stopped.']);

    llm.enqueue({ content: 'Three Kugellager.' });
    await post(personalMessage(conv, 'how many?'));
    await connector.waitFor(
      2,
      (c) => c.conversationId === conv && c.activity.type === 'message' && c.refused === undefined,
    );
    expect(posted(conv)).toEqual(['Stopped.', 'Three Kugellager.']);
    llm.assertDone();
  });

  it('the Stop action of a card (Action.Execute) stops the turn; a guest who did not ask is refused', async () => {
    const conv = `a:personal-stop-${++seq}`;
    const hold = held();
    llm.enqueue(hold.step);
    await post(personalMessage(conv, 'what is rendering?'));
    await hold.arrived;
    const session = await row(app.db.orm.em.fork(), idRow, `select id from chat_session where key = ?`, [
      `${AAD}:${conv}`,
    ]);
    const before = llm.clientClosed.length;

    connector.setMemberRole('29:guest-user', 'guest');
    const refused = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        stopClick(conv, session!.id, {
          id: '29:guest-user',
          name: 'Gast',
          aadObjectId: 'b1b2c3d4-0000-4000-8000-00000000000a',
        }),
      ),
    });
    expect(JSON.stringify(await refused.json())).toContain('Only the person who asked, or an operator, can stop this.');
    expect(llm.clientClosed.length).toBe(before);

    const closed = llm.whenClientClosed();
    const res = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(stopClick(conv, session!.id)),
    });
    expect(await res.json()).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    await closed;
    const [stopped] = await connector.waitFor(
      1,
      (c) => c.conversationId === conv && c.activity.type === 'message' && c.refused === undefined,
    );
    expect(String(stopped!.activity.text)).toMatch(/^Stopped by /);
    llm.assertDone();
  });

  it('the word `stop` stops the running turn on arrival', async () => {
    const conv = `a:personal-stop-${++seq}`;
    const hold = held();
    llm.enqueue(hold.step);
    await post(personalMessage(conv, 'summarise this month'));
    await hold.arrived;
    const closed = llm.whenClientClosed();
    await post(personalMessage(conv, 'stop'));
    await closed;
    const [stopped] = await connector.waitFor(
      1,
      (c) => c.conversationId === conv && c.activity.type === 'message' && c.refused === undefined,
    );
    expect(String(stopped!.activity.text)).toMatch(/^Stopped by /);
    expect(posted(conv)).toHaveLength(1);
    llm.assertDone();
  });
});
