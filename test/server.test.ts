import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../bot/app.ts';
import { gzipSync } from 'node:zlib';
import { HttpError, sendJson, type HttpRoute } from '../adapters/http.ts';
import { startHttpServer } from '../bot/server.ts';
import { UserInputError } from '../core/errors.ts';
import { loadConfig } from '../core/config.ts';
import { createTestDatabase, type TestDatabase, testConfig } from './support/db.ts';
import { silentLog } from './support/core.ts';

let db: TestDatabase;
let app: App;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;

/** Routes that show what the server gives handlers and how it answers their errors. */
const probeRoutes: HttpRoute[] = [
  {
    method: 'POST',
    path: '/probe/json/:id',
    body: { kind: 'json', maxBytes: 1024 },
    handle: (req, res) => sendJson(res, 200, { id: req.params.id, body: req.body ?? null }),
  },
  {
    method: 'POST',
    path: '/probe/raw',
    body: { kind: 'raw', maxBytes: 1024 },
    handle: (req, res) => sendJson(res, 200, { hex: req.rawBody?.toString('hex') ?? null }),
  },
  {
    method: 'GET',
    path: '/probe/throw/:kind',
    handle: (req) => {
      if (req.params.kind === 'http') throw new HttpError(429, 'rate_limited', 'Slow down.', { 'retry-after': '7' });
      if (req.params.kind === 'user') throw new UserInputError('bad_flag', 'The flag is wrong.');
      throw new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
    },
  },
];

beforeAll(async () => {
  db = await createTestDatabase();
  const config = testConfig(db);
  app = await createApp(config, silentLog, { worker: true });
  await app.start();
  http = await startHttpServer(app, 0, probeRoutes);
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
    for (const gauge of [
      'renderbot_queue_jobs_waiting',
      'renderbot_turns_in_flight',
      'renderbot_turns_queued',
      'renderbot_turns_running',
      'renderbot_model_calls_waiting',
      'renderbot_tenants_throttled',
    ]) {
      expect(metrics).toMatch(new RegExp(`^${gauge} \\d+$`, 'm'));
    }
    expect(metrics).toMatch(/^renderbot_db_up 1$/m);
    expect(metrics).toMatch(/^# TYPE renderbot_turn_seconds histogram$/m);
    expect(metrics).toMatch(/^# TYPE renderbot_model_call_seconds histogram$/m);
  });

  it('answers unknown paths with a JSON 404 and unknown methods with a JSON 405 naming the allowed ones', async () => {
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'not_found', message: 'Nothing is served at this path.' } });
    const wrong = await fetch(`${base}/healthz`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toContain('GET');
    expect(await wrong.json()).toEqual({
      error: { code: 'method_not_allowed', message: 'DELETE is not allowed on this path.' },
    });
  });

  it('reads JSON bodies with restify: route params, parsed body, 400 invalid JSON, 413 too large (declared or chunked), 415 other types or compressed, no type needed without a body', async () => {
    const post = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      fetch(`${base}/probe/json/a%20b`, { method: 'POST', headers, body });
    expect(await (await post('{"x":[1,"ü"]}')).json()).toEqual({ id: 'a b', body: { x: [1, 'ü'] } });
    expect(await (await post('', { 'content-type': 'application/json' })).json()).toEqual({ id: 'a b', body: null });
    // No body at all needs no content type (e.g. a confirm).
    const bare = await fetch(`${base}/probe/json/a%20b`, { method: 'POST' });
    expect({ status: bare.status, body: await bare.json() }).toEqual({ status: 200, body: { id: 'a b', body: null } });
    const invalid = await post('{"x": ');
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({ error: { code: 'invalid_json', message: 'The body is not valid JSON.' } });
    const big = await post(JSON.stringify({ x: 'y'.repeat(2000) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({
      error: { code: 'body_too_large', message: 'The body is larger than 1024 bytes.' },
    });
    // Without Content-Length the reader counts as it reads.
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode(`"${'z'.repeat(400)}"`));
        c.close();
      },
    });
    const streamed = await fetch(`${base}/probe/json/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      {},
    ] as Record<string, string>[]) {
      const res = await post('{"x":1}', headers);
      expect(res.status).toBe(415);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    }
    // A small gzip body would inflate past the limit unseen: compressed bodies are refused.
    const bomb = await post(gzipSync(JSON.stringify({ x: 'y'.repeat(100_000) })), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(bomb.status).toBe(415);
    const digest = await post('{"x":1}', {
      'content-type': 'application/json',
      'content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==',
    });
    expect(digest.status).toBe(400);
    expect(await digest.json()).toEqual({
      error: { code: 'bad_request', message: 'The body could not be read as sent.' },
    });
  });

  it('keeps raw bodies as sent for signature checks, with the same size limit', async () => {
    const text = 'token=x&text=Grüße %F0%9F%91%8D {"a": 1}\n';
    const res = await fetch(`${base}/probe/raw`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: text,
    });
    expect(await res.json()).toEqual({ hex: Buffer.from(text, 'utf8').toString('hex') });
    const json = '{"type":"event_callback","event":{"text":"Kugellager ⚙️"}}';
    expect(
      await (
        await fetch(`${base}/probe/raw`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: json,
        })
      ).json(),
    ).toEqual({ hex: Buffer.from(json).toString('hex') });
    expect(
      (
        await fetch(`${base}/probe/raw`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: 'x'.repeat(2000),
        })
      ).status,
    ).toBe(413);
  });

  it('answers errors as { error: { code, message } }: HttpError with its status and headers, user errors 400, anything else a generic 500', async () => {
    const limited = await fetch(`${base}/probe/throw/http`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.json()).toEqual({ error: { code: 'rate_limited', message: 'Slow down.' } });
    const user = await fetch(`${base}/probe/throw/user`);
    expect(user.status).toBe(400);
    expect(await user.json()).toEqual({ error: { code: 'bad_flag', message: 'The flag is wrong.' } });
    const internal = await fetch(`${base}/probe/throw/boom`);
    expect(internal.status).toBe(500);
    const body = await internal.text();
    expect(JSON.parse(body)).toEqual({ error: { code: 'internal', message: 'Internal error; it was logged.' } });
    expect(body).not.toMatch(/ECONNREFUSED|hunter2|10\.1\.2\.3|at /);
  });
});

describe('configuration', () => {
  it('validates the web channel variables with a message naming the variable', () => {
    expect(() =>
      loadConfig({
        WEB_ALLOWED_ORIGINS: 'https://app.example.com/path',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-cfg-')),
      }),
    ).toThrow(/WEB_ALLOWED_ORIGINS/);
    const ok = loadConfig({
      WEB_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-cfg-')),
    });
    expect(ok.WEB_ALLOWED_ORIGINS).toEqual(['https://a.example', 'https://b.example']);
    expect(ok.WEB_RATE_LIMIT_PER_MINUTE).toBe(120);
  });
});
