import { describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { openApiText, OPENAPI_FILE } from '../adapters/web/openapi-file.ts';
import { readFileSync } from 'node:fs';
import { apiDocument, expectDocumentedResponse } from './fixtures/web/contract.ts';

const url = (path: string) => `http://127.0.0.1${path}`;
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });

describe('the OpenAPI document', () => {
  it('is committed as generated (run `npm run build:api` after changing the API)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(openApiText());
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(apiDocument));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });
});

describe('the response checker', () => {
  it('accepts a declared answer and refuses an undeclared status, content type, header or body', async () => {
    await expectDocumentedResponse(
      'GET',
      url('/api/me'),
      json(401, { error: { code: 'unauthorized', message: 'No.' } }),
    );
    await expect(
      expectDocumentedResponse('GET', url('/api/me'), json(418, { error: { code: 'teapot', message: 'No.' } })),
    ).rejects.toThrow(/status 418 is not declared for getMe/);
    await expect(
      expectDocumentedResponse(
        'GET',
        url('/api/me'),
        new Response('no', { status: 401, headers: { 'content-type': 'text/plain' } }),
      ),
    ).rejects.toThrow(/content type "text\/plain" is not declared/);
    await expect(
      expectDocumentedResponse('GET', url('/api/me'), json(429, { error: { code: 'rate_limited', message: 'Slow.' } })),
    ).rejects.toThrow(/required header Retry-After is missing/);
    await expectDocumentedResponse(
      'GET',
      url('/api/me'),
      json(429, { error: { code: 'rate_limited', message: 'Slow.' } }, { 'retry-after': '7' }),
    );
    await expect(expectDocumentedResponse('GET', url('/api/me'), json(401, { error: 'unauthorized' }))).rejects.toThrow(
      /body does not match/,
    );
    await expect(expectDocumentedResponse('PUT', url('/api/me'), json(200, {}))).rejects.toThrow(/not an operation/);
  });

  it('checks each server-sent event against the event types of the stream', async () => {
    const sse = (text: string) =>
      new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
    const session = 'event: session\ndata: {"session_id":"7d0c3f9e-8a4b-4c2d-9e1f-0a1b2c3d4e5f"}\n\n';
    await expectDocumentedResponse(
      'POST',
      url('/api/chat/messages'),
      sse(`${session}: keep-alive\n\nevent: token\ndata: {"text":\ndata: "Hi"}\n\n`),
    );
    await expect(
      expectDocumentedResponse(
        'POST',
        url('/api/chat/messages'),
        sse(`${session}event: token\ndata: {"txt":"Hi"}\n\n`),
      ),
    ).rejects.toThrow(/event token does not match/);
    await expect(
      expectDocumentedResponse('POST', url('/api/chat/messages'), sse('event: progress\ndata: {}\n\n')),
    ).rejects.toThrow(/event "progress" is not declared/);
  });
});
