import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from './support/rows.ts';
import { z } from 'zod';
import * as XLSX from '@e965/xlsx';
import { type App } from '../bot/app.ts';
import { startHttpServer } from '../bot/server.ts';
import { CHANNEL_FILE_TEXT, FILE_DOWNLOAD_INFO } from '../adapters/teams/files.ts';
import { NOTE_LABEL } from '../core/agent/data-messages.ts';
import { type ConnectorCall, type FakeConnector } from './fakes/bot-connector.ts';
import { type FakeLlm } from './fakes/llm-server.ts';
import { type TestDatabase } from './support/db.ts';
import { type TenantFixture } from './support/fixtures.ts';
import { startTeamsApp, type TeamsTestApp } from './support/teams-app.ts';

type Activity = Record<string, unknown> & { conversation: Record<string, unknown> };
const fixture = (name: string) => JSON.parse(readFileSync(`test/fixtures/teams/${name}.json`, 'utf8')) as Activity;

let db: TestDatabase;
let app: App;
let llm: FakeLlm;
let connector: FakeConnector;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;
let acme: TenantFixture;
/** Stands in for SharePoint: serves workbooks at pre-authorised download URLs and records the requests' headers. */
let sharepoint: Server;
let sharepointUrl: string;
const hosted = new Map<string, Uint8Array>();
const downloads: IncomingHttpHeaders[] = [];
let seq = 0;

let h: TeamsTestApp;
beforeAll(async () => {
  h = await startTeamsApp();
  ({ db, app, llm, connector, http, base, acme } = h);
  sharepoint = createServer((req, res) => {
    downloads.push(req.headers);
    const bytes = hosted.get(req.url ?? '');
    res.writeHead(bytes ? 200 : 404, { 'content-type': 'application/octet-stream' });
    res.end(bytes ? Buffer.from(bytes) : undefined);
  });
  await new Promise<void>((resolve) => sharepoint.listen(0, '127.0.0.1', resolve));
  sharepointUrl = `http://127.0.0.1:${(sharepoint.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await http?.close();
  await app?.close();
  await connector?.close();
  await llm?.close();
  sharepoint?.close();
  await db?.drop();
});

function activity(name: string, conversationId: string, extra: Record<string, unknown> = {}): Activity {
  const a = fixture(name);
  a.serviceUrl = connector.url;
  a.id = `17642${String(++seq).padStart(8, '0')}`;
  a.conversation.id = conversationId;
  return Object.assign(a, extra);
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

/** A workbook hosted at a download URL, as the attachment Teams sends for a file in a personal chat. */
function fileAttachment(name: string, rows: string[][]) {
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(rows), 'Artikel');
  const path = `/personal/anna/Documents/Applications/${++seq}/${name}`;
  hosted.set(path, XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer);
  return {
    contentType: FILE_DOWNLOAD_INFO,
    contentUrl: `https://contoso-my.sharepoint.com${path}`,
    name,
    content: {
      downloadUrl: `${sharepointUrl}${path}`,
      uniqueId: '1150D938-8870-4044-9F2C-5BBDEBA70C9D',
      fileType: 'xlsx',
      etag: '123',
    },
  };
}

describe('Teams: files', () => {
  it('a personal-chat file (download info) → one confirmation naming the count and unknown ids → Action.Execute → one order with exactly those products', async () => {
    const conv = `a:personal-files-${++seq}`;
    let note = '';
    llm.enqueue((req) => {
      note = String(
        req.body.messages.find((m) => m.role === 'user' && String(m.content).startsWith(NOTE_LABEL))?.content,
      );
      const fileId = /product_file "([0-9a-f-]{36})"/.exec(note)?.[1];
      return {
        toolCalls: [
          {
            name: 'create_order',
            arguments: {
              product_ids: null,
              product_filter: null,
              product_file: fileId,
              output_type_name: 'WebP 1024x1024',
              submit: true,
              material_override: null,
              render_overrides: null,
            },
          },
        ],
      };
    });
    const a = activity('personal-message', conv, {
      text: '',
      attachments: [
        fileAttachment('products.xlsx', [
          ['Artikelnummer'],
          ['ACME-DI-20'],
          ['ACME-KL-6205'],
          ['KL-9999'],
          ['KL-9998'],
        ]),
      ],
    });
    expect((await post(a)).status).toBe(200);
    const [proposal] = await connector.waitFor(1, inConversation(conv));
    expect(note).toContain(
      'products.xlsx: 4 rows, column Artikelnummer, 2 match products, 2 unknown: KL-9999, KL-9998',
    );
    expect(downloads.at(-1)?.authorization).toBeUndefined();
    const card = JSON.stringify(proposal!.activity);
    expect(card).toContain(
      'Create order for 2 products from products.xlsx (2 ids not found: KL-9999, KL-9998) and start rendering',
    );
    const actionId = /"verb":"renderbot\.confirm","data":\{"actionId":"([0-9a-f-]{36})"\}/.exec(card)![1]!;

    llm.enqueue({ content: 'Done.' });
    const res = await post(
      activity('invoke-card-action', conv, {
        replyToId: proposal!.id!,
        value: {
          action: { type: 'Action.Execute', title: 'Confirm', verb: 'renderbot.confirm', data: { actionId } },
          trigger: 'manual',
        },
      }),
    );
    expect(res.status).toBe(200);
    const items = await rows(
      app.db.orm.em.fork(),
      z.object({ pim_id: z.string() }),
      `select p.pim_id from order_item i join product p on p.id = i.product_id join render_order o on o.id = i.order_id where o.tenant_id = ? order by 1`,
      [acme.tenant.id],
    );
    expect(items.map((i) => i.pim_id)).toEqual(['ACME-DI-20', 'ACME-KL-6205']);
    // The confirmed action's follow-up turn answers too; the next test counts model calls, so it must be over.
    await connector.waitFor(1, (c) => inConversation(conv)(c) && JSON.stringify(c.activity).includes('Done.'));
  });

  it('a file shared in a channel gets the explanation instead of silence, and no model call', async () => {
    const conv = `19:c0ffee42a1b2c3d4e5f6a7b8c9d0e1f2@thread.tacv2;messageid=17642${++seq}`;
    const requests = llm.requests.length;
    const a = activity('channel-mention', conv, {
      attachments: [
        {
          contentType: 'reference',
          contentUrl: 'https://contoso.sharepoint.com/sites/Renders/Shared%20Documents/products.xlsx',
          name: 'products.xlsx',
        },
      ],
    });
    expect((await post(a)).status).toBe(200);
    const [reply] = await connector.waitFor(1, inConversation(conv));
    expect(reply!.activity.text).toBe(CHANNEL_FILE_TEXT);
    expect(llm.requests.length).toBe(requests);
  });

  it('a bad personal-chat file gets its one sentence', async () => {
    const conv = `a:personal-files-${++seq}`;
    const path = `/personal/anna/bad-${seq}.csv`;
    hosted.set(path, Buffer.from('<html><body>not a sheet</body></html>'));
    const a = activity('personal-message', conv, {
      text: '',
      attachments: [
        {
          contentType: FILE_DOWNLOAD_INFO,
          name: 'bad.csv',
          content: { downloadUrl: `${sharepointUrl}${path}`, fileType: 'csv' },
        },
      ],
    });
    expect((await post(a)).status).toBe(200);
    const [reply] = await connector.waitFor(1, inConversation(conv));
    expect(reply!.activity.text).toBe(
      'bad.csv is an HTML or XML page, not a spreadsheet; export it from your PIM as .xlsx or .csv.',
    );
  });
});
