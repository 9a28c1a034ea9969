import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../bot/app.ts';
import { chatThreadKey, runChat } from '../bot/chat.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { LATEST_ORDERS } from '../core/tools/next-steps.ts';
import { startFakeLlm, type FakeLlm } from './fakes/llm-server.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.ts';
import { makeTenant } from './support/fixtures.ts';

let db: TestDatabase;
let llm: FakeLlm;
let config: ReturnType<typeof testConfig>;

beforeAll(async () => {
  db = await createTestDatabase();
  llm = await startFakeLlm({ provider: 'azure' });
  config = testConfig(db, {});
});
afterAll(async () => {
  await llm.close();
  await db.drop();
});

/** Runs the terminal chat in this process on `lines` (interactive: the greeting and its starters are printed); resolves with what it printed. */
async function chat(lines: string[], o: { user: string; interactive: boolean }): Promise<string> {
  const app: App = await createApp(config, silentLog, {
    worker: false,
    chat: { key: chatThreadKey(o.user, 'default') },
  });
  let out = '';
  const output = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  try {
    await runChat(app, {
      tenant: 'acme',
      user: o.user,
      session: 'default',
      input: Readable.from(lines.map((l) => `${l}\n`)),
      output,
      interactive: o.interactive,
    });
  } finally {
    await app.close();
  }
  return out;
}

describe('terminal suggestions', () => {
  it("starts with the tenant's suggestions, lists an answer's next steps by number, and typing the number sends that text", async () => {
    const acme = await makeTenant(db.orm.em.fork(), 'acme');
    await setTenantAi(db.orm.em.fork(), config.secretsKey, acme.tenant.id, llm.settings, llm.apiKey);
    llm.enqueue(
      { toolCalls: [{ name: 'search_products', arguments: { category: 'Kugellager', query: null, limit: 25 } }] },
      { content: 'Three Kugellager products match.' },
      (req) => ({ content: `You asked: ${String(req.body.messages.at(-1)?.content)}` }),
    );
    const out = await chat(['Which Kugellager products are there?', '1'], { user: 'tom', interactive: true });
    expect(out).toContain(`Next steps (type the number to send it):\n  1. ${LATEST_ORDERS}\n`);
    expect(out).toContain('Next steps (type the number to send it):\n  1. Render these 3 products\n');
    expect(out).toContain('> Render these 3 products\n');
    expect(out).toContain('You asked: Render these 3 products');
    llm.assertDone();
  });
});
