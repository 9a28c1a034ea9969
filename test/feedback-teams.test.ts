import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { countOf, row, rows } from './support/rows.ts';
import { z } from 'zod';
import { type App } from '../bot/app.ts';
import { startHttpServer } from '../bot/server.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { linkWorkspace } from '../core/tenancy/links.ts';
import { type ConnectorCall, type FakeConnector } from './fakes/bot-connector.ts';
import { type FakeLlm } from './fakes/llm-server.ts';
import { cardSchemaProblems } from './support/adaptive-card.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import type { LooseJson } from './support/loose-json.ts';
import { startTeamsApp, type TeamsTestApp } from './support/teams-app.ts';

const FOREIGN_AAD = '22222222-3333-4444-8555-666666666666';
type Activity = LooseJson;
const fixture = (name: string): Activity => JSON.parse(readFileSync(`test/fixtures/teams/${name}.json`, 'utf8'));

let app: App;
let llm: FakeLlm;
let connector: FakeConnector;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;
let acme: TenantFixture;

let h: TeamsTestApp;
beforeAll(async () => {
  h = await startTeamsApp({ PUBLIC_URL: 'https://renderbot.example.com' });
  ({ app, llm, connector, http, base, acme } = h);
  const em = app.db.orm.em.fork();
  await makeTenant(em, 'globex', { prefix: 'GLOBEX' }).then((g) =>
    linkWorkspace(em, g.tenant.id, 'teams', FOREIGN_AAD),
  );
  base = `http://127.0.0.1:${http.port}`;
});
afterAll(() => h?.close());

async function post(body: unknown) {
  const res = await fetch(`${base}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as LooseJson) : undefined };
}

/** The AI-generated message entity as Microsoft's "Bot messages with AI-generated content" describes it. */
const aiEntity = z.strictObject({
  type: z.literal('https://schema.org/Message'),
  '@type': z.literal('Message'),
  '@context': z.literal('https://schema.org'),
  '@id': z.literal(''),
  additionalType: z.tuple([z.literal('AIGeneratedContent')]),
  citation: z
    .array(
      z.strictObject({
        '@type': z.literal('Claim'),
        position: z.number().int().min(1),
        appearance: z.strictObject({
          '@type': z.literal('DigitalDocument'),
          name: z.string().min(1).max(80),
          abstract: z.string().min(1).max(160),
          url: z.url().optional(),
        }),
      }),
    )
    .max(20),
});

const storedFeedback = z.object({
  platform: z.string(),
  rating: z.string(),
  reason: z.string().nullable(),
  tools: z.array(z.string()),
});
const feedbackRows = (answerId: string) =>
  rows(
    app.db.orm.em.fork(),
    storedFeedback,
    `select platform, rating, reason, tools from answer_feedback where message_id = ?`,
    [answerId],
  );

describe('Teams: an agent answer is labelled, cites its records and takes feedback', () => {
  it('carries the AIGeneratedContent entity with citations and the feedback loop; the form asks what went wrong; a second submission replaces the first', async () => {
    const order = await createOrder(app.db.orm.em.fork(), acme.tenant.id, {
      products: { refs: ['ACME-KL-6204'] },
      outputTypeName: 'WebP 1024x1024',
      submit: false,
      createdBy: 'seed',
      now: new Date(),
    });
    llm.enqueue(
      { toolCalls: [{ name: 'get_order_status', arguments: { order_id: order.orderNumber } }] },
      { content: `Order ${order.orderNumber} is still a draft.` },
    );
    const ask = fixture('channel-mention');
    ask.serviceUrl = connector.url;
    ask.id = '1764148443999';
    ask.conversation.id = `19:c0ffee42a1b2c3d4e5f6a7b8c9d0e1f2@thread.tacv2;messageid=${ask.id}`;
    ask.text = `<at>RenderBot</at> how is ${order.orderNumber}?`;
    expect((await post(ask)).status).toBe(200);
    const isAnswer = (c: ConnectorCall) =>
      c.conversationId === ask.conversation.id &&
      (c.kind === 'send' || c.kind === 'reply' || c.kind === 'update') &&
      c.activity.type === 'message' &&
      JSON.stringify(c.activity).includes('still a draft');
    const [answer] = await connector.waitFor(1, isAnswer);
    const a = answer!.activity;

    const entity = aiEntity.parse(
      (a.entities as unknown[]).find((e) => (e as { type?: string }).type === 'https://schema.org/Message'),
    );
    expect(entity.citation).toEqual([
      {
        '@type': 'Claim',
        position: 1,
        appearance: {
          '@type': 'DigitalDocument',
          name: `Order ${order.orderNumber}`,
          abstract: expect.stringContaining(order.orderNumber),
          url: expect.stringMatching(
            new RegExp(
              `^https://renderbot\\.example\\.com/orders/${order.orderId}/results\\?exp=\\d+&sig=[0-9a-f]{64}$`,
            ),
          ),
        },
      },
    ]);
    expect(String(a.text)).toContain(`Sources: Order ${order.orderNumber} [1]`);
    expect(a.channelData).toMatchObject({ feedbackLoop: { type: 'custom' } });
    expect((a.channelData as Record<string, unknown>).feedbackLoopEnabled).toBeUndefined();
    const activityId = answer!.kind === 'update' ? answer!.activityId! : answer!.id!;
    // Which answer the activity shows is stored just after Teams took the message: a click needs it.
    const posted = () =>
      row(
        app.db.orm.em.fork(),
        z.object({ message_id: z.string() }),
        `select message_id from answer_post where message_ref = ?`,
        [activityId],
      );
    await vi.waitFor(async () => expect(await posted()).toBeDefined(), { timeout: 15_000, interval: 50 });

    // 👎: Teams asks for the form, then submits it.
    const fetch = fixture('invoke-feedback-fetch-task');
    Object.assign(fetch, {
      serviceUrl: connector.url,
      replyToId: activityId,
      conversation: { ...fetch.conversation, id: ask.conversation.id },
    });
    const form = await post(fetch);
    expect(form.status).toBe(200);
    expect(form.body?.task?.type).toBe('continue');
    const card = form.body!.task.value.card.content;
    expect(cardSchemaProblems(card)).toEqual([]);
    expect(JSON.stringify(card)).toContain('What went wrong?');

    const submit = fixture('invoke-feedback-submit');
    Object.assign(submit, {
      serviceUrl: connector.url,
      replyToId: activityId,
      conversation: { ...submit.conversation, id: ask.conversation.id },
    });
    expect((await post(submit)).status).toBe(200);
    const answerId = (await posted())!.message_id;
    expect(await feedbackRows(answerId)).toEqual([
      { platform: 'teams', rating: 'down', reason: 'It looked up the wrong order.', tools: ['get_order_status'] },
    ]);

    // 👍 later: the same person's row is replaced.
    const like = fixture('invoke-feedback-submit');
    Object.assign(like, {
      id: 'f:like',
      serviceUrl: connector.url,
      replyToId: activityId,
      conversation: { ...like.conversation, id: ask.conversation.id },
      value: {
        actionName: 'feedback',
        actionValue: { reaction: 'like', feedback: '{"feedbackText":"Right answer."}' },
      },
    });
    expect((await post(like)).status).toBe(200);
    expect(await feedbackRows(answerId)).toEqual([
      { platform: 'teams', rating: 'up', reason: 'Right answer.', tools: ['get_order_status'] },
    ]);

    // A submission given before that one (the activity's timestamp), delivered late, changes nothing.
    const late = fixture('invoke-feedback-submit');
    Object.assign(late, {
      id: 'f:late',
      timestamp: '2026-11-26T09:14:42.8810000Z',
      serviceUrl: connector.url,
      replyToId: activityId,
      conversation: { ...late.conversation, id: ask.conversation.id },
    });
    expect((await post(late)).status).toBe(200);
    expect((await feedbackRows(answerId)).map((r) => r.rating)).toEqual(['up']);

    // The same activity from another organisation (another tenant) stores nothing.
    const foreign = fixture('invoke-feedback-submit');
    Object.assign(foreign, {
      id: 'f:foreign',
      serviceUrl: connector.url,
      replyToId: activityId,
      conversation: { ...foreign.conversation, id: ask.conversation.id, tenantId: FOREIGN_AAD },
      channelData: { ...foreign.channelData, tenant: { id: FOREIGN_AAD } },
      from: { ...foreign.from, id: '29:globex-user', aadObjectId: 'c1c2c3c4-0000-4000-8000-00000000000b' },
    });
    expect((await post(foreign)).status).toBe(200);
    expect(await feedbackRows(answerId)).toHaveLength(1);
    expect(
      await countOf(
        app.db.orm.em.fork(),
        `select count(*)::int as n from answer_feedback where user_id like '%globex%'`,
      ),
    ).toBe(0);
  });
});
