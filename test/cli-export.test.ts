import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rows } from './support/rows.ts';
import { startFakeLlm, type FakeLlm } from './fakes/llm-server.ts';
import { runCli } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

/* Results out on the terminal (issue 18 item 3): the export is written under DATA_DIR and the reply names the path. */

let db: TestDatabase;
let dataDir: string;
let llm: FakeLlm;
beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'renderbot-cli-export-'));
  llm = await startFakeLlm({ provider: 'openai', apiKey: 'sk-cli-export-test' });
});
afterAll(async () => {
  await llm?.close();
  await db?.drop();
});

const cli = (args: string[], stdin = '') => runCli(args, { DATABASE_URL: db.url, DATA_DIR: dataDir }, stdin);

describe('terminal chat', { timeout: 240_000 }, () => {
  it('export_results writes the CSV under DATA_DIR/exports and prints its path', async () => {
    expect((await cli(['admin', 'tenant', 'create', '--slug', 'acme', '--name', 'ACME Lager AG'])).code).toBe(0);
    expect((await cli(['demo', 'seed', '--tenant', 'acme', '--products', '20'])).code).toBe(0);
    expect(
      (
        await cli([
          'admin',
          'tenant',
          'ai',
          '--tenant',
          'acme',
          '--provider',
          'openai',
          '--base-url',
          (llm.settings as { baseUrl: string }).baseUrl,
          '--model',
          (llm.settings as { model: string }).model,
          '--api-key',
          'sk-cli-export-test',
        ])
      ).code,
    ).toBe(0);
    const [order] = await rows(
      db.orm.em.fork(),
      z.object({ order_number: z.string(), items: z.number() }),
      `select o.order_number, count(i.id)::int as items from render_order o join tenant t on t.id = o.tenant_id
      join order_item i on i.order_id = o.id where t.slug = 'acme' group by o.order_number order by o.order_number limit 1`,
    );
    llm.enqueue(
      { toolCalls: [{ name: 'export_results', arguments: { order_id: order!.order_number, format: 'csv' } }] },
      { content: 'Done.' },
    );
    const r = await cli(['chat', '--tenant', 'acme', '--user', 'pia'], `results of ${order!.order_number} as csv`);
    expect(r.code).toBe(0);
    const path = join(dataDir, 'exports', `${order!.order_number}-results.csv`);
    expect(r.stdout).toContain(
      `${order!.order_number}-results.csv (${order!.items} items: PIM id, name, material, status, result URL, error) written to ${path}`,
    );
    const lines = readFileSync(path, 'utf8').trimEnd().split('\r\n'); // trimEnd: trim() would drop the BOM too
    expect(lines[0]).toBe('\uFEFF"PIM ID","Name","Material","Status","Result URL","Error"');
    expect(lines).toHaveLength(order!.items + 1);
  });
});
