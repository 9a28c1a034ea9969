import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../bot/app.ts';
import { chatThreadKey, runChat } from '../bot/chat.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { startFakeLlm, type FakeLlm } from './fakes/llm-server.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.ts';
import { makeTenant } from './support/fixtures.ts';
import { threeToolTurn } from './support/steps-script.ts';

let db: TestDatabase;
let llm: FakeLlm;
beforeAll(async () => {
  db = await createTestDatabase();
  llm = await startFakeLlm({ provider: 'azure' });
});
afterAll(async () => {
  await llm?.close();
  await db?.drop();
});

describe('steps in the terminal (docs/design.md §12)', () => {
  it('prints one line per step as it ends, before the answer; tenant text cannot send terminal escapes', async () => {
    const config = testConfig(db);
    const app = await createApp(config, silentLog, { chat: { key: chatThreadKey('pia', 'main') } });
    try {
      const { tenant } = await makeTenant(app.db.orm.em.fork(), 'acme');
      await setTenantAi(app.db.orm.em.fork(), config.secretsKey, tenant.id, llm.settings, llm.apiKey);
      const [first, answer] = threeToolTurn('Three ball bearings, no orders.');
      // A category a tenant named with a terminal escape sequence in it: shown, but not as an escape.
      llm.enqueue(
        first!,
        answer!,
        { toolCalls: [{ id: 'call_evil', name: 'search_products', arguments: { category: 'Kugel\u001b[2Jlager' } }] },
        { content: 'None.' },
      );
      let out = '';
      const output = new Writable({
        write(chunk: Buffer, _enc, done) {
          out += chunk.toString();
          done();
        },
      });
      await runChat(app, {
        tenant: 'acme',
        user: 'pia',
        session: 'main',
        input: Readable.from(['ball bearings and orders?\n', 'and the other ones?\n']),
        output,
        interactive: false,
      });

      const lines = out.split('\n');
      const stepLines = lines.filter((l) => /^[✓✗] /.test(l));
      expect(stepLines.slice(0, 3).sort()).toEqual(
        [
          '✓ Listing orders… — 0 found',
          '✓ Searching Kugellager products… — 3 found',
          '✗ Looking up SA-2026-09999… — No order SA-2026-09999 was found.',
        ].sort(),
      );
      // Each step once, all before the answer.
      expect(lines.findIndex((l) => l.includes('Three ball bearings'))).toBeGreaterThan(lines.indexOf(stepLines[2]!));
      expect(stepLines[3]).toBe(
        '✗ Searching Kugel[2Jlager products… — No category "Kugel[2Jlager" was found. Known categories: Dichtungen, Kugellager, Rollenlager.',
      );
      expect(out).not.toContain('\u001b');
      llm.assertDone();
    } finally {
      await app.close();
    }
  });
});
