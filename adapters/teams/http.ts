import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TransportRequest, TransportResponse } from './transport.ts';

/** Largest accepted activity body; real activities are a few KB, card invokes a little more. */
export const MAX_ACTIVITY_BYTES = 256 * 1024;

/** Why a request body was refused before it reached the Bot Framework adapter. */
export type BodyProblem = { status: 400 | 413 | 415; message: string };

/** Reads and parses a JSON activity body, size-limited. */
export async function readActivityBody(req: IncomingMessage, limit = MAX_ACTIVITY_BYTES): Promise<{ body: Record<string, unknown> } | BodyProblem> {
  const type = String(req.headers['content-type'] ?? 'application/json');
  if (!/^application\/json\b/i.test(type)) return { status: 415, message: 'Expected application/json' };
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return { status: 413, message: 'Activity too large' };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return { status: 413, message: 'Activity too large' };
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return { status: 400, message: 'Body is not valid JSON' };
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { status: 400, message: 'Body must be an activity object' };
  return { body: body as Record<string, unknown> };
}

/** The request CloudAdapter expects, from Node's request and the parsed body. */
export function transportRequest(req: IncomingMessage, body: Record<string, unknown>): TransportRequest {
  return { method: req.method ?? 'POST', headers: req.headers, body };
}

/** CloudAdapter's response surface (status/header/send/end) over Node's ServerResponse. */
export function transportResponse(res: ServerResponse): TransportResponse {
  let status = 200;
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  return {
    socket: res.socket,
    status(code) { status = code; },
    header(name, value) { headers[name.toLowerCase()] = String(value); },
    send(body) {
      if (body === undefined || body === null) return;
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        payload = body.toString();
        headers['content-type'] ??= 'text/plain; charset=utf-8';
      } else {
        payload = JSON.stringify(body);
        headers['content-type'] = 'application/json; charset=utf-8';
      }
    },
    end() {
      if (res.headersSent) return;
      res.writeHead(status, headers);
      res.end(payload);
    },
  };
}
