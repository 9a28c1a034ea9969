import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App } from '../bot/app.ts';
import { startHttpServer } from '../bot/server.ts';
import { renderAdaptiveCard } from '../adapters/teams/render.ts';
import { completionReply } from '../core/notices/compose.ts';
import { linkWorkspace } from '../core/tenancy/links.ts';
import { type ConnectorCall, type FakeConnector } from './fakes/bot-connector.ts';
import { type FakeLlm } from './fakes/llm-server.ts';
import { cardObjectModelProblems, cardSchemaProblems } from './support/adaptive-card.ts';
import { finishedLocalOrder } from './support/exports.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import type { LooseJson } from './support/loose-json.ts';
import { startTeamsApp, type TeamsTestApp } from './support/teams-app.ts';

/*
 * Results out on Teams (issue 18 item 3): a personal chat gets the file through the file consent
 * card (accept → PUT to the OneDrive upload URL → file info card); a channel gets a signed link.
 */

const OTHER_AAD = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const fixture = (name: string) =>
  JSON.parse(readFileSync(`test/fixtures/teams/${name}.json`, 'utf8')) as Record<string, unknown> & {
    conversation: Record<string, unknown>;
    from: Record<string, unknown>;
    channelData: Record<string, unknown>;
  };

let app: App;
let llm: FakeLlm;
let connector: FakeConnector;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;
let acme: TenantFixture;
let seq = 0;

let h: TeamsTestApp;
beforeAll(async () => {
  h = await startTeamsApp({ PUBLIC_URL: 'https://bot.example.com' });
  ({ app, llm, connector, http, base, acme } = h);
  const em = app.db.orm.em.fork();
  base = `http://127.0.0.1:${http.port}`;
  const globex = await makeTenant(em, 'globex');
  await linkWorkspace(em, globex.tenant.id, 'teams', OTHER_AAD);
});
afterAll(() => h?.close());

function activity(
  name: string,
  o: { text?: string; conversationId: string; aad?: string; type?: string; invoke?: string; value?: unknown },
) {
  const a = fixture(name);
  a.serviceUrl = connector.url;
  a.id = `17642${String(++seq).padStart(8, '0')}`;
  if (o.text !== undefined) a.text = o.text;
  a.conversation.id = o.conversationId;
  if (o.aad) {
    a.conversation.tenantId = o.aad;
    a.channelData.tenant = { id: o.aad };
  }
  if (o.type) a.type = o.type;
  if (o.invoke) a.name = o.invoke;
  if (o.value !== undefined) a.value = o.value;
  return a;
}
async function post(body: unknown) {
  const res = await fetch(`${base}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}
const inConversation = (id: string) => (c: ConnectorCall) =>
  c.conversationId === id && (c.kind === 'send' || c.kind === 'reply') && c.activity.type === 'message';
type Attachment = { contentType: string; name?: string; contentUrl?: string; content: LooseJson };
const attachmentsOf = (c: ConnectorCall) => (c.activity.attachments as Attachment[] | undefined) ?? [];

/** A completed acme order of the products whose PIM id starts with `prefix`, each rendered to a local file holding its id. */
const acmeOrder = (prefix: string) =>
  finishedLocalOrder(
    app.db.orm.em.fork(),
    app.config.dataDir,
    acme.tenant.id,
    acme.outputTypeIds['WebP 1024x1024']!,
    prefix,
    (p) => Buffer.from(p),
  );

/**
 * A personal chat `conv` asks for a finished acme order's results as a CSV; resolves with the
 * order, the reply and the file consent card sent after it.
 */
async function consentOffered(conv: string) {
  const order = await acmeOrder('ACME-KL');
  llm.enqueue(
    { toolCalls: [{ name: 'export_results', arguments: { order_id: order.orderNumber, format: 'csv' } }] },
    { content: 'Here is the list.' },
  );
  const asked = await post(
    activity('personal-message', { conversationId: conv, text: `results of ${order.orderNumber} as a spreadsheet` }),
  );
  expect(asked.status).toBe(200);
  const [reply, consentMessage] = await connector.waitFor(2, inConversation(conv));
  return { order, reply: reply!, consent: attachmentsOf(consentMessage!)[0]! };
}

/** A fileConsent/invoke `value` accepting `consent` into OneDrive upload session `up`. */
const acceptInto = (consent: Attachment, up: { name: string; uploadUrl: string; contentUrl: string; id: string }) => ({
  type: 'fileUpload',
  action: 'accept',
  context: consent.content.acceptContext,
  uploadInfo: {
    name: up.name,
    uploadUrl: up.uploadUrl,
    contentUrl: up.contentUrl,
    uniqueId: `uid-${up.id}`,
    fileType: 'csv',
  },
});

describe('results out on Teams', () => {
  it('personal chat: a file consent card; accept → the CSV is PUT to the upload URL and a file info card follows; another organisation cannot accept it', async () => {
    const conv = `a:personal-files-${++seq}`;
    const { order: o, reply, consent } = await consentOffered(conv);
    expect(JSON.stringify(reply.activity)).toContain('allow the file below');
    expect(consent.contentType).toBe('application/vnd.microsoft.teams.card.file.consent');
    expect(consent.name).toBe(`${o.orderNumber}-results.csv`);
    expect(consent.content.sizeInBytes).toBeGreaterThan(100);
    expect(consent.content.acceptContext).toEqual(consent.content.declineContext);

    // Someone of another organisation replays the accept: refused with a sentence, nothing uploaded.
    const stolen = connector.uploadSession(consent.name!);
    const value = (up: typeof stolen) => acceptInto(consent, up);
    const otherConv = `a:personal-other-${++seq}`;
    const refused = await post(
      activity('personal-message', {
        conversationId: otherConv,
        aad: OTHER_AAD,
        type: 'invoke',
        invoke: 'fileConsent/invoke',
        value: value(stolen),
      }),
    );
    expect(refused.status).toBe(200);
    const [refusal] = await connector.waitFor(1, inConversation(otherConv));
    expect(refusal!.activity.text).toMatch(/cannot send .* not for your organisation/);
    expect(stolen.bytes).toBeUndefined();

    const session = connector.uploadSession(consent.name!);
    const accepted = await post(
      activity('personal-message', {
        conversationId: conv,
        type: 'invoke',
        invoke: 'fileConsent/invoke',
        value: value(session),
      }),
    );
    expect(accepted.status).toBe(200);
    const [info] = await connector.waitFor(
      1,
      (c) =>
        inConversation(conv)(c) &&
        attachmentsOf(c)[0]?.contentType === 'application/vnd.microsoft.teams.card.file.info',
    );
    expect(attachmentsOf(info!)[0]).toEqual({
      contentType: 'application/vnd.microsoft.teams.card.file.info',
      name: consent.name,
      contentUrl: session.contentUrl,
      content: { uniqueId: `uid-${session.id}`, fileType: 'csv' },
    });
    expect(session.contentRange).toBe(`bytes 0-${session.bytes!.length - 1}/${session.bytes!.length}`);
    expect(session.authorization).toBeUndefined(); // the bot's token never goes to OneDrive
    const rows = parse(session.bytes!.toString('utf8').slice(1)) as string[][];
    expect(rows[0]).toEqual(['PIM ID', 'Name', 'Material', 'Status', 'Result URL', 'Error']);
    expect(
      rows
        .slice(1)
        .map((r) => [r[0], r[3]])
        .sort(),
    ).toEqual([
      ['ACME-KL-6204', 'completed'],
      ['ACME-KL-6205', 'completed'],
      ['ACME-KL-6206', 'completed'],
    ]);

    // Declining sends one line and nothing else.
    const declined = await post(
      activity('personal-message', {
        conversationId: conv,
        type: 'invoke',
        invoke: 'fileConsent/invoke',
        value: { ...value(session), action: 'decline' },
      }),
    );
    expect(declined.status).toBe(200);
    const [line] = await connector.waitFor(
      1,
      (c) => inConversation(conv)(c) && String(c.activity.text ?? '').startsWith('OK, I did not send'),
    );
    expect(line!.activity.text).toBe(`OK, I did not send ${consent.name}.`);
  }, 60_000);

  it('a slow OneDrive does not hold the invoke: it is answered at once, the file info card follows the upload, and stopping waits for both', async () => {
    const conv = `a:personal-slow-${++seq}`;
    const { consent } = await consentOffered(conv);
    let finishUpload!: () => void;
    const session = connector.uploadSession(consent.name!, {
      answerAfter: new Promise<void>((resolve) => (finishUpload = resolve)),
    });
    const accepted = await post(
      activity('personal-message', {
        conversationId: conv,
        type: 'invoke',
        invoke: 'fileConsent/invoke',
        value: acceptInto(consent, session),
      }),
    );
    // Answered while OneDrive still holds the PUT: nothing is shown yet.
    expect(accepted.status).toBe(200);
    expect(session.bytes).toBeUndefined();
    const isFileInfo = (c: ConnectorCall) =>
      inConversation(conv)(c) && attachmentsOf(c)[0]?.contentType === 'application/vnd.microsoft.teams.card.file.info';
    expect(connector.calls.filter(isFileInfo)).toEqual([]);
    // Stopping the channel (as `renderbot serve` stops) waits for the upload and its file info card.
    let stopped = false;
    const stopping = h.channel.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    finishUpload();
    await stopping;
    const [info] = connector.calls.filter(isFileInfo);
    expect(attachmentsOf(info!)[0]!.contentUrl).toBe(session.contentUrl);
    expect(session.bytes!.length).toBeGreaterThan(100);
  }, 60_000);

  it('channel: the reply card carries the signed 24 h download link (no consent card: bots cannot send files there)', async () => {
    const o = await acmeOrder('ACME-KL');
    llm.enqueue(
      { toolCalls: [{ name: 'export_results', arguments: { order_id: o.orderNumber, format: 'zip' } }] },
      { content: 'Download below.' },
    );
    const thread = `19:files0000a1b2c3d4e5f6a7b8c9d0e1f2@thread.tacv2;messageid=17642${String(++seq).padStart(8, '0')}`;
    expect(
      (
        await post(
          activity('channel-mention', {
            conversationId: thread,
            text: `<at>RenderBot</at> images of ${o.orderNumber} as zip`,
          }),
        )
      ).status,
    ).toBe(200);
    const [reply] = await connector.waitFor(
      1,
      // The answer, not the card that shows the running turn's steps (with its Stop action).
      (c) =>
        c.conversationId === thread &&
        c.activity.type === 'message' &&
        attachmentsOf(c).length > 0 &&
        !JSON.stringify(c.activity).includes('renderbot.stop'),
    );
    const card = attachmentsOf(reply!)[0]!;
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(cardSchemaProblems(card.content)).toEqual([]);
    expect(cardObjectModelProblems(card.content)).toEqual([]);
    const text = JSON.stringify(card.content);
    expect(text).toMatch(
      new RegExp(
        `\\[📎 ${o.orderNumber}-results\\.zip\\]\\(https://bot\\.example\\.com/orders/${o.orderId}/export\\.zip\\?exp=\\d+&sig=[0-9a-f]{64}\\)`,
      ),
    );
    expect(text).toContain('link valid until');
    expect(
      connector.calls.filter(
        (c) => c.conversationId === thread && attachmentsOf(c).some((a) => a.contentType.includes('file.consent')),
      ),
    ).toEqual([]);
  }, 60_000);
});

describe('thumbnails on Teams', () => {
  it("the completion notice shows the order's thumbnails as one ImageSet of signed WebP thumbnail URLs, valid against the card schema", async () => {
    const o = await acmeOrder('ACME-');
    const reply = await completionReply(app.db.orm.em.fork(), acme.tenant.id, o.orderId, app.renderLinks, new Date());
    const card = renderAdaptiveCard(reply);
    expect(cardSchemaProblems(card)).toEqual([]);
    expect(cardObjectModelProblems(card)).toEqual([]);
    const sets = (card.body as { type: string; images?: { url: string }[] }[]).filter((e) => e.type === 'ImageSet');
    expect(sets).toHaveLength(1);
    const urls = sets[0]!.images!.map((i) => i.url);
    expect(urls).toHaveLength(5); // all five products of the order, at most six
    for (const url of urls)
      expect(url).toMatch(/^https:\/\/bot\.example\.com\/renders\/[0-9a-f-]{36}\/thumb\?exp=\d+&sig=[0-9a-f]{64}$/);
  });
});
