import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from './support/rows.ts';
import { z } from 'zod';
import { runCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'renderbot-cli-files-'));
});
afterAll(async () => {
  await db.drop();
});

const cli = (args: string[], stdin = '') => runCli(args, { DATABASE_URL: db.url, DATA_DIR: dataDir }, stdin);

describe('terminal chat: attach <path>', { timeout: 240_000 }, () => {
  it('prints the file’s summary, carries it with the next message, and answers a bad path or file with one line', async () => {
    expect((await cli(['admin', 'tenant', 'create', '--slug', 'acme', '--name', 'ACME Lager AG'])).code).toBe(0);
    const csv = join(dataDir, 'ids.csv');
    writeFileSync(csv, 'SKU;Name\nKL-1;a\nKL-2;b\nKL-1;c\n');
    const png = join(dataDir, 'pic.csv');
    writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]));
    const script = [`attach ${csv}`, `attach ${png}`, `attach ${join(dataDir, 'missing.csv')}`, 'render these'].join(
      '\n',
    );
    const r = await cli(['chat', '--tenant', 'acme', '--user', 'pia'], script);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Attached ids.csv: 3 rows, column SKU, 0 match products, 2 unknown: KL-1, KL-2, 1 duplicate ids counted once: KL-1. Your next message carries it.',
    );
    expect(r.stdout).toContain('pic.csv is a PNG image, not a spreadsheet; send an .xlsx or .csv file.');
    expect(r.stdout).toContain(`${join(dataDir, 'missing.csv')} cannot be read (no such file).`);
    const notes = await rows(
      db.orm.em.fork(),
      z.object({ content: z.string() }),
      `select content from chat_message where role = 'system' and content like 'The user attached a file%'`,
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]!.content).toContain('ids.csv: 3 rows, column SKU');
  });
});
