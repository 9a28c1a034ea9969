import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from './support/rows.ts';
import { z } from 'zod';
import * as XLSX from '@e965/xlsx';
import { type TenantFixture } from './support/fixtures.ts';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { buttonClick, dmEvent, type Who } from './fakes/slack-request.ts';
import { isCard } from './support/slack-flows.ts';
import { NOTE_LABEL } from '../core/agent/data-messages.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';

let h: SlackHarness;
let acme: TenantFixture;
const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'D0ALICEDM1' };

beforeAll(async () => {
  h = await startSlackHarness();
  acme = await h.acmeWithAlice(alice.userId);
});
afterAll(async () => {
  await h?.close();
});

function workbook(rows: string[][]): Uint8Array {
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(rows), 'Artikel');
  return XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer;
}

/** A DM with one shared file, as Slack sends a `message` event of subtype file_share. */
function fileShare(who: Who, file: { id: string; name: string; url: string }, text = '') {
  const env = dmEvent(who, text);
  Object.assign(env.event, {
    subtype: 'file_share',
    upload: false,
    display_as_bot: false,
    files: [
      {
        id: file.id,
        name: file.name,
        title: file.name,
        mimetype: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        filetype: 'xlsx',
        size: 1234,
        mode: 'hosted',
        is_external: false,
        url_private: file.url,
        url_private_download: file.url,
      },
    ],
  });
  return env;
}

let fileSeq = 0;
const noteOf = (req: FakeLlmRequest) =>
  String(req.body.messages.find((m) => m.role === 'user' && String(m.content).startsWith(NOTE_LABEL))?.content);

describe('Slack: a spreadsheet shared in a DM', () => {
  it('is downloaded with the bot token from Slack’s file host → one confirmation naming the count and unknown ids → confirm → one order with exactly those products', async () => {
    const id = `F0FILE${++fileSeq}`;
    const url = h.slack.addFile(TEAM, {
      id,
      name: 'products.xlsx',
      bytes: workbook([['PIM-ID'], ['ACME-KL-6204'], ['ACME-ZR-100'], ['KL-9999']]),
    });
    let note = '';
    h.llm.enqueue((req) => {
      note = noteOf(req);
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
    const from = h.slack.calls.length;
    expect((await h.send.event(fileShare(alice, { id, name: 'products.xlsx', url }))).status).toBe(200);
    const { placeholder, update: card } = await h.answer((c) => c.body.channel === alice.channel, { from });
    expect(note).toContain('products.xlsx: 3 rows, column PIM-ID, 2 match products, 1 unknown: KL-9999');
    const downloads = h.slack.callsOf('file_download').slice(-1);
    expect(downloads).toEqual([expect.objectContaining({ token: TEAM.token })]);
    expect(isCard(card)).toBe(true);
    expect(JSON.stringify(card.body.blocks)).toContain(
      'Create order for 2 products from products.xlsx (1 id not found: KL-9999) and start rendering',
    );

    const actions = (card.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find(
      (b) => b.type === 'actions',
    )!;
    const actionId = actions.elements!.find((e) => e.action_id === 'renderbot.confirm')!.value;
    h.llm.enqueue({ content: 'Done.' });
    await h.send.action(
      buttonClick(alice, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: String(placeholder.response!.ts),
        responseUrl: h.slack.responseUrl(),
      }),
    );
    await h.slack.waitFor(
      'chat.postMessage',
      (c) => c.body.channel === alice.channel && String(c.body.text ?? '').includes('Done.'),
      { from },
    );
    const items = await rows(
      h.em(),
      z.object({ pim_id: z.string() }),
      `select p.pim_id from order_item i join product p on p.id = i.product_id join render_order o on o.id = i.order_id where o.tenant_id = ? order by 1`,
      [acme.tenant.id],
    );
    expect(items.map((i) => i.pim_id)).toEqual(['ACME-KL-6204', 'ACME-ZR-100']);
    h.llm.assertDone();
  });

  it('a file URL on another host: no request carries the token, and the DM gets one sentence', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const other = createServer((req, res) => {
      seen.push(req.headers);
      res.end('PIM-ID\nACME-ZR-100\n');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}/files-pri/${TEAM.teamId}-F1/download/evil.csv`;
      const from = h.slack.calls.length;
      await h.send.event(fileShare(alice, { id: 'F1', name: 'evil.csv', url }));
      const said = await h.slack.waitFor('chat.postMessage', (c) => c.body.channel === alice.channel, { from });
      expect(said.body.text).toBe(
        'I could not download evil.csv from Slack; check that RenderBot has the files:read permission, or upload it in the web panel.',
      );
      expect(seen.filter((hd) => hd.authorization)).toEqual([]);
    } finally {
      other.close();
    }
  });

  it('Slack refuses the file (not this workspace’s token): the redirect to sign-in is not followed, one sentence', async () => {
    const otherTeam = { ...TEAM, token: 'xoxb-2222-other-fake', teamId: 'T0OTHER002' };
    const url = h.slack.addFile(otherTeam, { id: 'F2', name: 'theirs.xlsx', bytes: workbook([['SKU'], ['X']]) });
    const from = h.slack.calls.length;
    await h.send.event(fileShare(alice, { id: 'F2', name: 'theirs.xlsx', url }));
    const said = await h.slack.waitFor('chat.postMessage', (c) => c.body.channel === alice.channel, { from });
    expect(said.body.text).toMatch(/^I could not download theirs\.xlsx from Slack/);
    expect(
      h.slack.calls
        .slice(from)
        .filter((c) => c.method === 'file_download')
        .map((c) => c.path),
    ).toEqual([expect.stringMatching(/^\/files-pri\//)]);
  });

  it('a bad file gets its sentence in the DM and no turn', async () => {
    const url = h.slack.addFile(TEAM, {
      id: 'F3',
      name: 'photo.csv',
      bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
    });
    const requests = h.llm.requests.length;
    const from = h.slack.calls.length;
    await h.send.event(fileShare(alice, { id: 'F3', name: 'photo.csv', url }));
    const said = await h.slack.waitFor('chat.postMessage', (c) => c.body.channel === alice.channel, { from });
    expect(said.body.text).toBe('photo.csv is a PNG image, not a spreadsheet; send an .xlsx or .csv file.');
    expect(h.llm.requests.length).toBe(requests);
    expect(h.slack.failures).toEqual([]);
  });
});
