import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOf, rows as readRows } from './support/rows.ts';
import { z } from 'zod';
import * as XLSX from '@e965/xlsx';
import { zipSync } from 'fflate';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';
import { startWebHarness, type WebHarness } from './fixtures/web/harness.ts';
import { NOTE_LABEL } from '../core/agent/data-messages.ts';
import { deleteExpiredFiles } from '../core/files/store.ts';

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

/** A workbook made by the library: one sheet of `rows` (the first is the header). */
function xlsx(rows: unknown[][], opts: { bookType?: XLSX.BookType } = {}): Buffer {
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(rows), 'Artikel');
  return XLSX.write(book, { type: 'buffer', bookType: opts.bookType ?? 'xlsx' }) as Buffer;
}

const upload = (token: string, name: string, bytes: Uint8Array) => h.uploadFile(token, name, bytes);

async function refusal(name: string, bytes: Uint8Array): Promise<string> {
  const res = await upload(alice, name, bytes);
  const body = (await res.json()) as { error?: { message: string } };
  expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
  return body.error!.message;
}

const count = (sql: string, params: unknown[]) => countOf(h.em(), sql, params);

describe('a spreadsheet becomes one order (web)', () => {
  it('upload → message with the file id → one confirmation naming the count and unknown ids → confirm → one order with exactly those products', async () => {
    const rows = [
      ['Artikelnummer', 'Bezeichnung'],
      ['ACME-KL-6204', 'a'],
      ['ACME-KL-6205', 'b'],
      ['KL-9999', 'c'],
      ['ACME-KL-6204', 'dup'],
      ['ACME-DI-20', 'd'],
      ['XX-1', 'e'],
    ];
    const res = await upload(alice, 'products.xlsx', xlsx(rows));
    expect(res.status).toBe(201);
    const up = (await res.json()) as { file_id: string; summary: string };
    expect(up.summary).toBe(
      'products.xlsx: 6 rows, column Artikelnummer, 3 match products, 2 unknown: KL-9999, XX-1, 1 duplicate ids counted once: ACME-KL-6204',
    );

    // Another tenant's token cannot use the id: 404, as for other foreign ids; nothing reaches a model.
    const foreign = await h.api('/api/chat/messages', {
      token: gus,
      body: { message: 'Order these', files: [up.file_id] },
    });
    expect(foreign.status).toBe(404);

    let seen = '';
    h.llm.enqueue((req) => {
      // The model sees the summary as a data message, never the bytes, never in the system message.
      const note = req.body.messages.find((m) => m.role === 'user' && String(m.content).startsWith(NOTE_LABEL));
      seen = String(note?.content);
      expect(String(req.body.messages[0]!.content)).not.toContain('KL-9999');
      return {
        toolCalls: [
          {
            name: 'create_order',
            arguments: {
              product_ids: null,
              product_filter: null,
              product_file: up.file_id,
              output_type_name: 'WebP 1024x1024',
              submit: true,
              material_override: null,
              render_overrides: null,
            },
          },
        ],
      };
    });
    const sent = await h.api('/api/chat/messages', {
      token: alice,
      body: { message: 'Render these as WebP', files: [up.file_id] },
    });
    expect(sent.status).toBe(200);
    expect(seen).toContain(up.summary);
    expect(seen).toContain(`product_file "${up.file_id}"`);
    const r = (await sent.json()) as {
      session_id: string;
      response: {
        reply: { blocks: { type: string; title?: string; actionId?: string; steps?: { details: string[] }[] }[] };
      };
    };
    const confirm = r.response.reply.blocks.find((b) => b.type === 'confirm')!;
    expect(confirm.title).toBe(
      'Create order for 3 products from products.xlsx (2 ids not found: KL-9999, XX-1) and start rendering',
    );
    expect(confirm.steps![0]!.details).toContain('Duplicates in the file, counted once: 1');

    h.llm.enqueue({ content: 'Done.' });
    const ok = await h.api(`/api/actions/${confirm.actionId}/confirm`, { token: alice, body: {} });
    expect(ok.status).toBe(200);
    const items = await readRows(
      h.em(),
      z.object({ pim_id: z.string() }),
      `select p.pim_id from order_item i join product p on p.id = i.product_id join render_order o on o.id = i.order_id where o.tenant_id = ? order by p.pim_id`,
      [acme.tenant.id],
    );
    expect(items.map((i) => i.pim_id)).toEqual(['ACME-DI-20', 'ACME-KL-6204', 'ACME-KL-6205']);
    expect(await count(`select count(*) as n from render_order where tenant_id = ?`, [acme.tenant.id])).toBe(1);
  });

  it('a material column sets per-product materials: valid names in the confirmation and on the order items, unknown names left as the product’s own', async () => {
    const csv = Buffer.from(
      'Artikelnummer;Material\nACME-KL-6204;nbr-black\nACME-ZR-100;Gold-Plated\nACME-DI-20;\n',
      'utf8',
    );
    const res = await upload(alice, 'mat.csv', csv);
    const up = (await res.json()) as { file_id: string; summary: string };
    expect(up.summary).toBe(
      'mat.csv: 3 rows, column Artikelnummer, 3 match products, none unknown, material column Material (2 with a material; unknown materials: Gold-Plated)',
    );
    h.llm.enqueue({
      toolCalls: [
        {
          name: 'create_order',
          arguments: {
            product_ids: null,
            product_filter: null,
            product_file: up.file_id,
            output_type_name: 'WebP 1024x1024',
            submit: false,
            material_override: null,
            render_overrides: null,
          },
        },
      ],
    });
    const sent = await h.api('/api/chat/messages', {
      token: alice,
      body: { message: 'Draft an order of these', files: [up.file_id] },
    });
    const r = (await sent.json()) as {
      response: { reply: { blocks: { type: string; actionId?: string; steps?: { details: string[] }[] }[] } };
    };
    const confirm = r.response.reply.blocks.find((b) => b.type === 'confirm')!;
    expect(confirm.steps![0]!.details).toContain(
      "Material: per product from column Material (2 ids name one; unknown names, left as the product's own material: Gold-Plated); else the product's own",
    );
    h.llm.enqueue({ content: 'Draft saved.' });
    expect((await h.api(`/api/actions/${confirm.actionId}/confirm`, { token: alice, body: {} })).status).toBe(200);
    const items = await readRows(
      h.em(),
      z.object({ pim_id: z.string(), material: z.string().nullable() }),
      `select p.pim_id, m.name as material from order_item i join product p on p.id = i.product_id left join material m on m.id = i.material_id
        join render_order o on o.id = i.order_id where o.tenant_id = ? and o.status = 'draft' order by 1`,
      [acme.tenant.id],
    );
    expect(items).toEqual([
      { pim_id: 'ACME-DI-20', material: null },
      { pim_id: 'ACME-KL-6204', material: 'NBR-Black' },
      { pim_id: 'ACME-ZR-100', material: null },
    ]);
  });

  it('create_order with another tenant’s file id: the model is told the file was not found; nothing is frozen', async () => {
    const res = await upload(alice, 'acme-only.csv', Buffer.from('SKU\nACME-ZR-100\n'));
    const { file_id } = (await res.json()) as { file_id: string };
    let told = '';
    h.llm.enqueue(
      {
        toolCalls: [
          {
            name: 'create_order',
            arguments: {
              product_ids: null,
              product_filter: null,
              product_file: file_id,
              output_type_name: 'WebP 1024x1024',
              submit: true,
              material_override: null,
              render_overrides: null,
            },
          },
        ],
      },
      (req) => {
        told = String(req.body.messages.at(-1)?.content);
        return { content: 'That file is not available.' };
      },
    );
    const before = await count(`select count(*) as n from product_selection`, []);
    const sent = await h.api('/api/chat/messages', {
      token: gus,
      body: { message: 'Order the products of that file' },
    });
    expect(sent.status).toBe(200);
    expect(told).toContain('That file was not found');
    expect(await count(`select count(*) as n from product_selection`, [])).toBe(before);
  });

  it('a CSV with ; and a BOM and no known header: the id column is found by its values', async () => {
    const csv = Buffer.from('\uFEFFNr;Code;Name\n1;ACME-ZR-100;x\n2;ACME-KL-6206;y\n3;NOPE;z\n', 'utf8');
    const res = await upload(alice, 'liste.csv', csv);
    expect(res.status).toBe(201);
    expect(((await res.json()) as { summary: string }).summary).toBe(
      'liste.csv: 3 rows, column Code, 2 match products, 1 unknown: NOPE',
    );
  });

  it('expired files are deleted by the cleanup and can no longer be attached', async () => {
    const res = await upload(alice, 'old.csv', Buffer.from('SKU\nACME-ZR-100\n'));
    const { file_id } = (await res.json()) as { file_id: string };
    await h.em().execute(`update uploaded_file set expires_at = now() - interval '1 second' where id = ?`, [file_id]);
    expect(
      (await h.api('/api/chat/messages', { token: alice, body: { message: 'Order these', files: [file_id] } })).status,
    ).toBe(404);
    expect(await deleteExpiredFiles(h.em())).toBeGreaterThanOrEqual(1);
    expect(await count(`select count(*) as n from uploaded_file where id = ?`, [file_id])).toBe(0);
  });
});

describe('bad files get one sentence', () => {
  it('a zip bomb (tiny packed, huge unpacked) is refused before any spreadsheet code inflates it', async () => {
    const bomb = zipSync(
      {
        'xl/workbook.xml': new TextEncoder().encode('<workbook/>'),
        'xl/worksheets/sheet1.xml': new Uint8Array(150 * 1024 * 1024),
      },
      { level: 9 },
    );
    expect(await refusal('bomb.xlsx', bomb)).toMatch(/looks like a zip bomb; it was not opened\.$/);
  });

  it('more than 100,000 rows', async () => {
    const lines = ['SKU', ...Array.from({ length: 100_001 }, (_, i) => `ID-${i}`)].join('\n');
    expect(await refusal('big.csv', Buffer.from(lines))).toBe(
      'big.csv has 100,001 rows; at most 100,000 fit in one order, so split the file.',
    );
  });

  it('a 100,001-row workbook', async () => {
    const rows = [['SKU'], ...Array.from({ length: 100_001 }, (_, i) => [`ID-${i}`])];
    expect(await refusal('big.xlsx', xlsx(rows))).toBe(
      'big.xlsx has 100,001 rows; at most 100,000 fit in one order, so split the file.',
    );
  });

  it('an encrypted workbook (an OLE container)', async () => {
    const ole = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(1024)]);
    expect(await refusal('secret.xlsx', ole)).toMatch(
      /^secret\.xlsx is a password-protected or old-format \(\.xls\) workbook/,
    );
  });

  it('a macro-enabled workbook', async () => {
    const macro = zipSync({
      '[Content_Types].xml': new TextEncoder().encode('<Types/>'),
      'xl/workbook.xml': new TextEncoder().encode('<workbook/>'),
      'xl/vbaProject.bin': new Uint8Array(64),
    });
    expect(await refusal('macro.xlsm', macro)).toMatch(/^macro\.xlsm contains macros/);
  });

  it('a .csv that is a PNG, HTML disguised as xlsx, JSON, not UTF-8', async () => {
    expect(await refusal('ids.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]))).toBe(
      'ids.csv is a PNG image, not a spreadsheet; send an .xlsx or .csv file.',
    );
    expect(
      await refusal('export.xlsx', Buffer.from('<html><body><table><tr><td>SKU</td></tr></table></body></html>')),
    ).toMatch(/^export\.xlsx is an HTML or XML page/);
    expect(await refusal('export.csv', Buffer.from('[{"sku":"ACME-ZR-100"}]'))).toMatch(/^export\.csv is JSON/);
    expect(
      await refusal('latin1.csv', Buffer.from([0x53, 0x4b, 0x55, 0x0a, 0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72])),
    ).toMatch(/^latin1\.csv is not UTF-8 text/);
  });

  it('an empty sheet, and ids no product has', async () => {
    expect(await refusal('empty.xlsx', xlsx([['SKU']]))).toBe(
      'empty.xlsx has no data rows under its header (sheet Artikel).',
    );
    expect(await refusal('other.csv', Buffer.from('Foo,Bar\n1,2\n'))).toMatch(
      /^No column of other\.csv holds this workspace's product ids/,
    );
  });

  it('over 20 MB is refused while streaming (413)', async () => {
    const res = await upload(alice, 'huge.csv', new Uint8Array(21 * 1024 * 1024).fill(0x41));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/larger than 20 MB/);
  });

  it('formulas are not evaluated: a cell reads as its cached value', async () => {
    const ws = XLSX.utils.aoa_to_sheet([['SKU'], ['ACME-ZR-100']]);
    ws.A3 = { t: 's', f: 'CONCAT("ACME-","DI-20")', v: 'ACME-KL-6204' };
    ws['!ref'] = 'A1:A3';
    const book = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(book, ws, 'S');
    const res = await upload(alice, 'f.xlsx', XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer);
    expect(((await res.json()) as { summary: string }).summary).toBe(
      'f.xlsx: 2 rows, column SKU, 2 match products, none unknown',
    );
  });
});
