import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../bot/app.ts';
import { startHttpServer } from '../bot/server.ts';
import { loadConfig } from '../core/config.ts';
import { createTestDatabase, type TestDatabase, testConfig } from './support/db.ts';
import { silentLog } from './support/core.ts';

let db: TestDatabase;
let app: App;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const config = testConfig(db);
  app = await createApp(config, silentLog, { worker: true });
  await app.start();
  http = await startHttpServer(app, 0);
  base = `http://127.0.0.1:${http.port}`;
});
afterAll(async () => {
  await http.close();
  await app.close();
  await db.drop();
});

describe('HTTP server', () => {
  it('answers /healthz, /readyz and /metrics', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^renderbot_process_start_time_seconds \d+$/m);
    expect(metrics).toMatch(/^renderbot_http_requests_total\{route="\/healthz"\} 1$/m);
    for (const gauge of ['renderbot_queue_jobs_waiting', 'renderbot_turns_in_flight', 'renderbot_turns_queued', 'renderbot_turns_running', 'renderbot_model_calls_waiting', 'renderbot_tenants_throttled']) {
      expect(metrics).toMatch(new RegExp(`^${gauge} \\d+$`, 'm'));
    }
    expect(metrics).toMatch(/^renderbot_db_up 1$/m);
    expect(metrics).toMatch(/^# TYPE renderbot_turn_seconds histogram$/m);
    expect(metrics).toMatch(/^# TYPE renderbot_model_call_seconds histogram$/m);
  });

  it('answers unknown routes with 404', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe('configuration', () => {
  it('validates the web channel variables with a message naming the variable', () => {
    expect(() => loadConfig({ WEB_ALLOWED_ORIGINS: 'https://app.example.com/path', DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-cfg-')) })).toThrow(/WEB_ALLOWED_ORIGINS/);
    const ok = loadConfig({ WEB_ALLOWED_ORIGINS: 'https://a.example, https://b.example', DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-cfg-')) });
    expect(ok.WEB_ALLOWED_ORIGINS).toEqual(['https://a.example', 'https://b.example']);
    expect(ok.WEB_RATE_LIMIT_PER_MINUTE).toBe(120);
  });
});
