import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../bot/app.ts';
import { chatThreadKey, runChat } from '../bot/chat.ts';
import { setTenantAi } from '../core/llm/settings.ts';
import { startFakeLlm, type FakeLlm, type FakeLlmRequest } from './fakes/llm-server.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase, testConfig } from './support/db.ts';
import { makeTenant } from './support/fixtures.ts';

/*
 * The terminal's Stop (docs/design.md §12): Ctrl-C while a turn waits on the model aborts the
 * model request and prints "Stopped by …"; the next line is answered normally.
 */

let db: TestDatabase;
let llm: FakeLlm;
let app: App;

beforeAll(async () => {
  db = await createTestDatabase();
  llm = await startFakeLlm({ provider: 'azure' });
  const config = testConfig(db);
  app = await createApp(config, silentLog, { chat: { key: chatThreadKey('pia', 'default') } });
  const acme = await makeTenant(app.db.orm.em.fork(), 'acme');
  await setTenantAi(app.db.orm.em.fork(), config.secretsKey, acme.tenant.id, llm.settings, llm.apiKey);
});
afterAll(async () => {
  await app?.close();
  await llm?.close();
  await db?.drop();
});

describe('Stop in the terminal chat', () => {
  it('Ctrl-C stops the running turn; the next line is answered', async () => {
    const input = new PassThrough();
    let out = '';
    const output = new Writable({
      write(chunk, _enc, done) {
        out += String(chunk);
        done();
      },
    });
    const interrupts = new EventEmitter();
    let arrive!: (req: FakeLlmRequest) => void;
    const arrived = new Promise<FakeLlmRequest>((r) => {
      arrive = r;
    });
    llm.enqueue((req) => {
      arrive(req);
      return { hang: true };
    });

    const chat = runChat(app, {
      tenant: 'acme',
      user: 'pia',
      session: 'default',
      input,
      output,
      interactive: false,
      interrupts,
    });
    input.write('which orders failed this week?\n');
    await arrived;
    const closed = llm.whenClientClosed();
    interrupts.emit('SIGINT');
    await closed;

    llm.enqueue({ content: 'Two orders failed.' });
    input.end('and now?\n');
    await chat;
    expect(out).toContain('Stopping… (Ctrl-C again quits)');
    expect(out).toContain('Stopped by pia.');
    expect(out.indexOf('Stopped by pia.')).toBeLessThan(out.indexOf('Two orders failed.'));
    llm.assertDone();
  });
});
