import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOf, rows } from './support/rows.ts';
import { z } from 'zod';
import * as XLSX from '@e965/xlsx';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { NOTE_LABEL } from '../core/agent/data-messages.ts';
import type { FakeLlmRequest } from './fakes/llm-server.ts';

/*
 * XLSX: the first sheet unless the user names another (docs/design.md §12 "Files in"). The summary
 * names a workbook's other sheets; read_file_sheet reads one of them through the upload path into
 * a new file whose id create_order takes.
 */

let h: WebHarness;
let acme: TenantFixture;
let alice: string;
let gus: string;

beforeAll(async () => {
  h = await startWebHarness();
  acme = await makeTenant(h.em(), 'acme');
  const globex = await makeTenant(h.em(), 'globex');
  await h.enableAi(acme.tenant.id);
  await h.enableAi(globex.tenant.id);
  alice = await h.token(acme.tenant.id, 'alice', 'operator');
  gus = await h.token(globex.tenant.id, 'gus', 'operator');
});
afterAll(async () => {
  await h.close();
});

/** A workbook made by the library: sheet Export (one id) first, then sheet Lager (three known ids and one unknown). */
function twoSheets(): Buffer {
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([['SKU'], ['ACME-KL-6204']]), 'Export');
  XLSX.utils.book_append_sheet(
    book,
    XLSX.utils.aoa_to_sheet([['Artikelnummer'], ['ACME-KL-6205'], ['ACME-ZR-100'], ['ACME-DI-20'], ['NOPE-1']]),
    'Lager',
  );
  return XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer;
}

async function upload(token: string, name: string, bytes: Uint8Array): Promise<{ file_id: string; summary: string }> {
  const res = await h.uploadFile(token, name, bytes);
  expect(res.status).toBe(201);
  return (await res.json()) as { file_id: string; summary: string };
}

const count = (sql: string, params: unknown[]) => countOf(h.em(), sql, params);

/** The answer the model got to its last tool call. */
const lastToolAnswer = (req: FakeLlmRequest) => String(req.body.messages.findLast((m) => m.role === 'tool')?.content);

/** Sends `message` as `token` with the model calling read_file_sheet once; the tool's answer as the model saw it. */
async function readSheetAs(token: string, fileId: string, sheet: string): Promise<string> {
  let told = '';
  h.llm.enqueue({ toolCalls: [{ name: 'read_file_sheet', arguments: { file_id: fileId, sheet } }] }, (req) => {
    told = lastToolAnswer(req);
    return { content: 'Noted.' };
  });
  const sent = await h.api('/api/chat/messages', { token, body: { message: `Use sheet ${sheet}` } });
  expect(sent.status).toBe(200);
  return told;
}

describe('a workbook of several sheets', () => {
  it('the summary names the other sheets; read_file_sheet → new file id → create_order orders the second sheet’s products', async () => {
    const up = await upload(alice, 'products.xlsx', twoSheets());
    expect(up.summary).toBe(
      'products.xlsx (sheet Export; also: Lager): 1 row, column SKU, 1 match products, none unknown',
    );

    let note = '';
    let sheetAnswer: { file_id: string; summary: string } | undefined;
    h.llm.enqueue(
      (req) => {
        note = String(req.body.messages.find((m) => String(m.content).startsWith(NOTE_LABEL))?.content);
        // Sheet names are the tenant's data: in the note, never in the system message.
        expect(String(req.body.messages[0]!.content)).not.toContain('Lager');
        // Excel's sheet names are case-insensitive; so is the tool.
        return { toolCalls: [{ name: 'read_file_sheet', arguments: { file_id: up.file_id, sheet: 'lager' } }] };
      },
      (req) => {
        sheetAnswer = JSON.parse(lastToolAnswer(req)) as { file_id: string; summary: string };
        return {
          toolCalls: [
            {
              name: 'create_order',
              arguments: {
                product_ids: null,
                product_filter: null,
                product_file: sheetAnswer.file_id,
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
    const sent = await h.api('/api/chat/messages', {
      token: alice,
      body: { message: 'Render the products on sheet Lager', files: [up.file_id] },
    });
    expect(sent.status).toBe(200);
    expect(note).toContain(up.summary);
    expect(note).toContain('read_file_sheet');
    expect(sheetAnswer!.file_id).not.toBe(up.file_id);
    expect(sheetAnswer!.summary).toBe(
      'products.xlsx (sheet Lager; also: Export): 4 rows, column Artikelnummer, 3 match products, 1 unknown: NOPE-1',
    );
    // The new file is the tenant's, kept as long as the workbook it came from.
    const files = await rows(
      h.em(),
      z.object({ tenant_id: z.string(), uploaded_by: z.string(), expires_at: z.string() }),
      `select tenant_id, uploaded_by, expires_at::text from uploaded_file where id in (?, ?) order by id = ? desc`,
      [up.file_id, sheetAnswer!.file_id, up.file_id],
    );
    expect(files.map((f) => [f.tenant_id, f.uploaded_by])).toEqual([
      [acme.tenant.id, files[0]!.uploaded_by],
      [acme.tenant.id, files[0]!.uploaded_by],
    ]);
    expect(files[1]!.expires_at).toBe(files[0]!.expires_at);

    const r = (await sent.json()) as {
      response: { reply: { blocks: { type: string; title?: string; actionId?: string }[] } };
    };
    const confirm = r.response.reply.blocks.find((b) => b.type === 'confirm')!;
    expect(confirm.title).toBe(
      'Create order for 3 products from products.xlsx (1 id not found: NOPE-1) and start rendering',
    );
    // The model's follow-up of the confirmation is queued; it is awaited so every scripted step is used.
    let followedUp!: () => void;
    const followUp = new Promise<void>((resolve) => (followedUp = resolve));
    h.llm.enqueue(() => {
      followedUp();
      return { content: 'Done.' };
    });
    expect((await h.api(`/api/actions/${confirm.actionId}/confirm`, { token: alice, body: {} })).status).toBe(200);
    await followUp;
    const items = await rows(
      h.em(),
      z.object({ pim_id: z.string() }),
      `select p.pim_id from order_item i join product p on p.id = i.product_id join render_order o on o.id = i.order_id where o.tenant_id = ? order by p.pim_id`,
      [acme.tenant.id],
    );
    expect(items.map((i) => i.pim_id)).toEqual(['ACME-DI-20', 'ACME-KL-6205', 'ACME-ZR-100']);
    h.llm.assertDone();
  });

  it('an unknown sheet name gets one sentence listing the sheets; a CSV has none; nothing is stored', async () => {
    const up = await upload(alice, 'products.xlsx', twoSheets());
    const csv = await upload(alice, 'list.csv', Buffer.from('SKU\nACME-ZR-100\n'));
    const before = await count(`select count(*) as n from uploaded_file`, []);
    expect(await readSheetAs(alice, up.file_id, 'Archiv')).toBe(
      'Error: products.xlsx has no sheet named Archiv; its sheets are Export, Lager.',
    );
    expect(await readSheetAs(alice, csv.file_id, 'Lager')).toBe(
      'Error: list.csv is a CSV file, which has no sheets; it is read whole.',
    );
    expect(await count(`select count(*) as n from uploaded_file`, [])).toBe(before);
    h.llm.assertDone();
  });

  it('another tenant’s or an expired file id: the same "not found" as elsewhere; nothing is stored', async () => {
    const up = await upload(alice, 'products.xlsx', twoSheets());
    const notFound = 'Error: That file was not found (files are kept for a limited time); send it again.';
    const before = await count(`select count(*) as n from uploaded_file`, []);
    expect(await readSheetAs(gus, up.file_id, 'Lager')).toBe(notFound);
    expect(await readSheetAs(alice, 'not-a-uuid', 'Lager')).toBe(notFound);
    await h
      .em()
      .execute(`update uploaded_file set expires_at = now() - interval '1 second' where id = ?`, [up.file_id]);
    expect(await readSheetAs(alice, up.file_id, 'Lager')).toBe(notFound);
    expect(await count(`select count(*) as n from uploaded_file`, [])).toBe(before);
    h.llm.assertDone();
  });
});
