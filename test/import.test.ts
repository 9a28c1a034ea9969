import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rows } from './support/rows.ts';
import { RenderBotError, UserInputError } from '../core/errors.ts';
import { decodeCsvFile, detectDelimiter, parseCsv } from '../core/pipeline/csv.ts';
import { importProductsCsv } from '../core/pipeline/import.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, type TenantFixture } from './support/fixtures.ts';

let db: TestDatabase;
let acme: TenantFixture;
let globex: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.orm.em.fork().transactional(async (em) => {
    acme = await makeTenant(em, 'acme');
    globex = await makeTenant(em, 'globex');
  });
});
afterAll(async () => {
  await db?.drop();
});

/** Imports in one transaction, as a caller would. */
function importCsv(tenantId: string, csv: string) {
  return db.orm.em.fork().transactional((em) => importProductsCsv(em, tenantId, csv));
}
const productRow = z.object({
  pim_id: z.string(),
  name: z.string(),
  category: z.string(),
  material_name: z.string().nullable(),
});
async function products(tenantId: string) {
  return rows(
    db.orm.em.fork(),
    productRow,
    `select pim_id, name, category, material_name from product where tenant_id = ? order by pim_id`,
    [tenantId],
  );
}
async function csvError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserInputError);
  expect((err as RenderBotError).code).toBe('csv_invalid');
  return (err as Error).message;
}

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, embedded commas and line breaks, CRLF and a BOM', () => {
    const text = '\uFEFFa,b,c\r\n"x, y","say ""hi""",z\r\n"multi\r\nline",,""\r\n\r\nlast,row,here';
    const { records, problems, delimiter } = parseCsv(text);
    expect(problems).toEqual([]);
    expect(delimiter).toBe(',');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['x, y', 'say "hi"', 'z'] },
      { line: 3, fields: ['multi\nline', '', ''] },
      { line: 6, fields: ['last', 'row', 'here'] },
    ]);
  });

  it('reports malformed records with their starting line and keeps parsing', () => {
    const { records, problems } = parseCsv('a,b\nx"y,1\n"ok",2\n"bad"tail,3\n"open,4\nnever closed');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 3, fields: ['ok', '2'] },
    ]);
    expect(problems.map((p) => p.line)).toEqual([2, 4, 5]);
    expect(problems[0]!.message).toContain('quote inside an unquoted field');
    expect(problems[1]!.message).toContain('after a closing quote');
    expect(problems[2]!.message).toContain('never closed');
  });

  it('resumes after the line a multi-line record broke on, and counts lines after quoted CRLF breaks', () => {
    const text = 'a,b\r\n"two\r\nlines"x,1\r\n\r\n"three\r\nline\r\nname",2\r\nlast,3\r\n';
    const { records, problems } = parseCsv(text);
    expect(problems).toEqual([{ line: 2, message: expect.stringContaining('after a closing quote') }]);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 5, fields: ['three\nline\nname', '2'] },
      { line: 8, fields: ['last', '3'] },
    ]);
  });

  it('malformed lines in the middle are each reported by their line; every row around and after them is kept', () => {
    const text = [
      'pim_id,name,category',
      'A-1,One,Kugellager',
      'A-2,"Two"x,Kugellager', // 3: text after a closing quote
      'A-3,Three,Kugellager',
      'A-4,Fo"ur,"Kugellager', // 5: a quote inside an unquoted field, then a quoted field opens
      'A-5,"Fi',
      've",Kugellager',
      'A-6,"Six"y,"Kugel', // 8: text after a closing quote, and a quote left open on the same line
      'A-7,Seven,Kugellager',
      '',
    ].join('\n');
    const { records, problems } = parseCsv(text);
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [3, expect.stringContaining('after a closing quote')],
      [5, expect.stringContaining('quote inside an unquoted field')],
      [8, expect.stringContaining('after a closing quote')],
    ]);
    expect(records.map((r) => [r.line, r.fields[0], r.fields[1]])).toEqual([
      [1, 'pim_id', 'name'],
      [2, 'A-1', 'One'],
      [4, 'A-3', 'Three'],
      [6, 'A-5', 'Fi\nve'],
      [9, 'A-7', 'Seven'],
    ]);
  });

  it('accepts LF and lone CR line ends and a missing final newline', () => {
    expect(parseCsv('a,b\rc,d\ne,f').records.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
  });

  it('detects semicolons from the header line (German Excel) and keeps commas inside fields', () => {
    const { records, problems, delimiter } = parseCsv(
      'pim_id;name;category\r\nA-1;Lager 6204, neu;Kugellager\r\nA-2;"Ring; 30x42";Dichtungen\r\n',
    );
    expect(problems).toEqual([]);
    expect(delimiter).toBe(';');
    expect(records.map((r) => r.fields)).toEqual([
      ['pim_id', 'name', 'category'],
      ['A-1', 'Lager 6204, neu', 'Kugellager'],
      ['A-2', 'Ring; 30x42', 'Dichtungen'],
    ]);
    expect(detectDelimiter('pim_id,name,category')).toBe(',');
    expect(detectDelimiter('pim_id;name;category')).toBe(';');
    expect(detectDelimiter('pim_id')).toBe(',');
  });
});

describe('decodeCsvFile', () => {
  it('decodes UTF-8 and refuses Windows-1252 bytes with a clear error instead of garbling umlauts', () => {
    expect(decodeCsvFile(Buffer.from('pim_id;name;category\nA;Hülse;Lager\n', 'utf8'))).toContain('Hülse');
    const ansi = Buffer.from('pim_id;name;category\nA;H\u00fclse;Lager\n', 'latin1');
    expect(() => decodeCsvFile(ansi)).toThrow(UserInputError);
    expect(() => decodeCsvFile(ansi)).toThrow(/not UTF-8.*CSV UTF-8/);
  });
});

describe('importProductsCsv', () => {
  it('upserts a good file and counts inserted vs. updated rows', async () => {
    const csv =
      [
        'pim_id,name,category,material_name',
        'ACME-KL-6204,"Rillenkugellager 6204, neu",Kugellager,Steel-Bare',
        'ACME-NEW-1,"Lager ""Spezial""",Kugellager,',
        'ACME-NEW-2,Dichtring 30x42,Dichtungen,NBR-Black',
      ].join('\r\n') + '\r\n';
    const before = (await products(acme.tenant.id)).length;
    expect(await importCsv(acme.tenant.id, csv)).toEqual({ inserted: 2, updated: 1 });
    const rows = await products(acme.tenant.id);
    expect(rows).toHaveLength(before + 2);
    expect(rows.find((r) => r.pim_id === 'ACME-KL-6204')).toMatchObject({
      name: 'Rillenkugellager 6204, neu',
      material_name: 'Steel-Bare',
    });
    expect(rows.find((r) => r.pim_id === 'ACME-NEW-1')).toMatchObject({ name: 'Lager "Spezial"', material_name: null });
    expect(rows.find((r) => r.pim_id === 'ACME-NEW-2')).toMatchObject({
      category: 'Dichtungen',
      material_name: 'NBR-Black',
    });
  });

  it("accepts the three-column header with a BOM, keeps materials, and touches only the caller's tenant", async () => {
    const acmeBefore = await products(acme.tenant.id);
    const csv =
      '\uFEFFpim_id,name,category\nACME-KL-6205,Umbenannt,Kugellager\nACME-NEW-3,"Mehrzeilig\nName",Sonstiges\n';
    expect(await importCsv(globex.tenant.id, csv)).toEqual({ inserted: 2, updated: 0 });
    expect(await products(acme.tenant.id)).toEqual(acmeBefore);
    expect(await importCsv(acme.tenant.id, csv)).toEqual({ inserted: 1, updated: 1 });
    const renamed = (await products(acme.tenant.id)).find((r) => r.pim_id === 'ACME-KL-6205');
    expect(renamed).toMatchObject({ name: 'Umbenannt', material_name: 'Steel-Bare' });
  });

  it('reports every bad row with its line number and imports nothing', async () => {
    const before = await products(acme.tenant.id);
    const csv = [
      'pim_id,name,category', // 1
      'ACME-OK-1,Gut,Kugellager', // 2
      'ACME-OK-2,Fehlt', // 3: too few
      'ACME-OK-3,Zu,viele,Spalten', // 4: too many
      'ACME-OK-1,Doppelt,Kugellager', // 5: duplicate of line 2
      `ACME-OK-4,${'x'.repeat(301)},Kugellager`, // 6: name too long
      ',Ohne PIM,Kugellager', // 7: empty pim_id
      '"ACME-OK-5,"Kaputt",Kugellager', // 8: text after closing quote
      'ACME-OK-6,"Gut,\n""auch"" mehrzeilig",Kugellager', // 9-10: fine
      'ACME-OK-7, ,Kugellager', // 11: blank name
    ].join('\n');
    const message = await csvError(importCsv(acme.tenant.id, csv));
    expect(message).toContain('7 problems; nothing was changed');
    expect(message).toContain('line 3: too few columns: expected 3 (pim_id,name,category), found 2');
    expect(message).toContain('line 4: too many columns: expected 3 (pim_id,name,category), found 4');
    expect(message).toContain('line 5: pim_id "ACME-OK-1" already appears on line 2');
    expect(message).toContain('line 6: name is longer than 300 characters (301)');
    expect(message).toContain('line 7: pim_id is empty');
    expect(message).toMatch(/line 8: unexpected text after a closing quote/);
    expect(message).toContain('line 11: name is empty');
    expect(message).not.toMatch(/line (2|9|10):/);
    expect(await products(acme.tenant.id)).toEqual(before);
  });

  it('lists at most 20 problems and says how many more', async () => {
    const csv = ['pim_id,name,category', ...Array.from({ length: 25 }, (_, i) => `P-${i},only two`)].join('\n');
    const message = await csvError(importCsv(acme.tenant.id, csv));
    expect(message).toContain('25 problems');
    expect(message).toContain('line 21:');
    expect(message).not.toContain('line 22:');
    expect(message).toContain('…and 5 more problems.');
  });

  it('refuses a header that is not pim_id,name,category[,material_name]', async () => {
    for (const header of [
      'name,pim_id,category',
      'pim_id,name',
      'pim_id,name,category,colour',
      'PIM_ID,name,category',
    ]) {
      const message = await csvError(importCsv(acme.tenant.id, `${header}\nA,B,C\n`));
      expect(message).toContain(
        'line 1: the header must be "pim_id,name,category" (optionally followed by ",material_name"; or the same with ";")',
      );
    }
    expect(await csvError(importCsv(acme.tenant.id, 'pim_id;category;name\nA;B;C\n'))).toContain(
      'not "pim_id;category;name"',
    );
    expect(await csvError(importCsv(acme.tenant.id, ''))).toContain('line 1: the file must start with the header');
  });

  it('imports a semicolon-separated file (German Excel) with quoted line breaks and reports its bad rows by line', async () => {
    const csv =
      [
        '\uFEFFpim_id;name;category;material_name', // 1
        'ACME-SEMI-1;"Lager 6204, neu";Kugellager;Steel-Bare', // 2
        'ACME-SEMI-2;"Ring ""30x42""\r\nzweite Zeile";Dichtungen;', // 3-4
      ].join('\r\n') + '\r\n';
    const broken =
      csv + 'ACME-SEMI-3;nur zwei\r\n"ACME-SEMI-4;"x";Dichtungen;\r\nACME-SEMI-5;"offen\r\n;Dichtungen;\r\n';
    const before = await products(acme.tenant.id);
    const message = await csvError(importCsv(acme.tenant.id, broken));
    expect(message).toContain('3 problems; nothing was changed');
    expect(message).toContain('line 5: too few columns: expected 4 (pim_id,name,category,material_name), found 2');
    expect(message).toContain('line 6: unexpected text after a closing quote');
    expect(message).toContain('line 7: a quoted field is never closed');
    expect(await products(acme.tenant.id)).toEqual(before);

    expect(await importCsv(acme.tenant.id, csv)).toEqual({ inserted: 2, updated: 0 });
    const rows = await products(acme.tenant.id);
    expect(rows.find((r) => r.pim_id === 'ACME-SEMI-1')).toMatchObject({
      name: 'Lager 6204, neu',
      material_name: 'Steel-Bare',
    });
    expect(rows.find((r) => r.pim_id === 'ACME-SEMI-2')).toMatchObject({
      name: 'Ring "30x42"\nzweite Zeile',
      category: 'Dichtungen',
      material_name: null,
    });
  });

  it('imports nothing and reports nothing for a header-only file', async () => {
    expect(await importCsv(acme.tenant.id, 'pim_id,name,category\r\n')).toEqual({ inserted: 0, updated: 0 });
  });
});
