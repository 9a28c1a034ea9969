import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../bot/server.ts';
import { stepText } from '../core/replies/steps.ts';
import { escapeCardText } from '../adapters/teams/render.ts';
import { type ConnectorCall, type FakeConnector } from './fakes/bot-connector.ts';
import { type FakeLlm } from './fakes/llm-server.ts';
import { threeToolSteps, threeToolTurn } from './support/steps-script.ts';
import { startTeamsApp, type TeamsTestApp } from './support/teams-app.ts';
import { cardSchemaProblems } from './support/adaptive-card.ts';
import type { LooseJson } from './support/loose-json.ts';

let llm: FakeLlm;
let connector: FakeConnector;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let seq = 0;

let h: TeamsTestApp;
beforeAll(async () => {
  h = await startTeamsApp();
  ({ llm, connector, http } = h);
});
afterAll(() => h?.close());

/** A personal-chat message from the fixture, pointed at the fake connector. */
async function ask(conversationId: string, text: string) {
  const a = JSON.parse(readFileSync('test/fixtures/teams/personal-message.json', 'utf8')) as Record<string, unknown> & {
    conversation: Record<string, unknown>;
  };
  a.serviceUrl = connector.url;
  a.id = `18641${String(++seq).padStart(8, '0')}`;
  a.text = text;
  a.conversation.id = conversationId;
  const res = await fetch(`http://127.0.0.1:${http.port}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(a),
  });
  expect(res.status).toBeLessThan(300);
}

const streamCalls = (conv: string) =>
  connector.calls.filter(
    (c) => c.conversationId === conv && (c.activity.channelData as { streamType?: string } | undefined)?.streamType,
  );
const info = (c: ConnectorCall) =>
  c.activity.channelData as { streamType: string; streamSequence?: number; streamId?: string };
const isFinal = (conv: string) => (c: ConnectorCall) =>
  c.conversationId === conv && c.activity.type === 'message' && c.refused === undefined;

describe('steps in Teams (docs/design.md §12)', () => {
  it('a personal chat gets the steps as informative updates of the answer’s stream, before its text; the final message closes that stream', async () => {
    const conv = `a:steps-personal-${++seq}`;
    const answer =
      'Kugellager: 6204, 6205 and 6206 2RS are in the catalogue, all three in steel. There are no orders yet, ' +
      'and SA-2026-09999 does not exist. Say the word and I will prepare an order that renders all three as WebP.';
    const [first, last] = threeToolTurn(answer);
    llm.enqueue(first!, { ...last!, chunkDelayMs: 400 });
    await ask(conv, 'ball bearings and my orders?');
    const [final] = await connector.waitFor(1, isFinal(conv));

    const calls = streamCalls(conv);
    expect(calls.every((c) => c.refused === undefined)).toBe(true);
    const kinds = calls.map((c) => info(c).streamType);
    const informative = calls.filter((c) => info(c).streamType === 'informative');
    expect(informative.length).toBeGreaterThanOrEqual(1);
    // Informative updates first, then the streamed text, then the final message — one stream, numbered in order.
    expect(kinds.lastIndexOf('informative')).toBeLessThan(kinds.indexOf('streaming'));
    expect(kinds.at(-1)).toBe('final');
    const streamId = calls[0]!.id;
    expect(calls.slice(1).map((c) => info(c).streamId)).toEqual(calls.slice(1).map(() => streamId));
    expect(calls.slice(0, -1).map((c) => info(c).streamSequence)).toEqual(calls.slice(0, -1).map((_, i) => i + 1));
    // The last informative update lists every step with its result.
    const lastInfo = String(informative.at(-1)!.activity.text);
    for (const step of threeToolSteps) expect(lastInfo).toContain(escapeCardText(stepText(step)));
    expect(JSON.stringify(final!.activity)).toContain(answer.slice(0, 40));
    llm.assertDone();
  });

  it('a channel gets the steps in one message, updated in place, which the answer then replaces', async () => {
    const a = JSON.parse(readFileSync('test/fixtures/teams/channel-mention.json', 'utf8')) as Record<
      string,
      unknown
    > & { conversation: Record<string, unknown> };
    const conv = `19:steps${++seq}@thread.tacv2;messageid=18641${String(seq).padStart(8, '0')}`;
    a.serviceUrl = connector.url;
    a.id = `18641${String(++seq).padStart(8, '0')}`;
    a.text = '<at>RenderBot</at> ball bearings and my orders?';
    a.conversation.id = conv;
    llm.enqueue(...threeToolTurn('Three ball bearings; no orders.'));
    const res = await fetch(`http://127.0.0.1:${http.port}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(a),
    });
    expect(res.status).toBeLessThan(300);
    const [card] = await connector.waitFor(1, isFinal(conv));
    const answer = await connector.waitFor(
      1,
      (c) =>
        c.kind === 'update' &&
        c.activityId === card!.id &&
        JSON.stringify(c.activity).includes('Three ball bearings; no orders.'),
    );
    const edits = connector.calls.filter((c) => c.kind === 'update' && c.activityId === card!.id && c !== answer[0]);
    const shown = (edits.at(-1) ?? card)!.activity;
    const lastSteps = JSON.stringify(shown.attachments);
    for (const step of threeToolSteps)
      expect(lastSteps).toContain(JSON.stringify(escapeCardText(stepText(step))).slice(1, -1));
    // The card carries a Stop action for this turn's session (docs/design.md §12), valid for Teams.
    const content = (shown.attachments as { content: LooseJson }[])[0]!.content;
    expect(content.body.at(-1)).toEqual({
      type: 'ActionSet',
      actions: [
        { type: 'Action.Execute', title: 'Stop', verb: 'renderbot.stop', data: { sessionId: expect.any(String) } },
      ],
    });
    expect(cardSchemaProblems(content)).toEqual([]);
    // No streaming in channels, and nothing but this one message.
    const streamed = (c: (typeof connector.calls)[number]) =>
      Array.isArray(c.activity.entities) &&
      c.activity.entities.some((e: { type?: unknown }) => e.type === 'streaminfo');
    expect(connector.calls.filter((c) => c.conversationId === conv && streamed(c))).toEqual([]);
    expect(connector.calls.filter((c) => isFinal(conv)(c) && c.kind !== 'update')).toHaveLength(1);
    llm.assertDone();
  });

  it('tenant text in a step is escaped: no markdown from a category name', async () => {
    const conv = `a:steps-escape-${++seq}`;
    llm.enqueue(
      {
        toolCalls: [
          { id: 'call_md', name: 'search_products', arguments: { category: '**[click](https://evil.example)**' } },
        ],
      },
      { content: 'No such category.' },
    );
    await ask(conv, 'what is in that category?');
    await connector.waitFor(1, isFinal(conv));
    const informative = streamCalls(conv)
      .filter((c) => info(c).streamType === 'informative')
      .map((c) => String(c.activity.text));
    expect(informative[0]).toContain('Searching \\*\\*\\[click\\](https://evil.example)\\*\\* products…');
    expect(informative.join('\n')).not.toContain('**[click]');
    llm.assertDone();
  });
});
