import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { z } from 'zod';
import type { TransportRequest, TransportResponse } from './transport.ts';

/** Largest accepted activity body; real activities are a few KB, card invokes a little more. */
export const MAX_ACTIVITY_BYTES = 256 * 1024;

/** Why a request was refused before it reached the Bot Framework adapter. */
export type BodyProblem = { status: 400 | 403 | 413 | 415; message: string };

const problemCodes = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 413: 'too_large', 415: 'unsupported_media_type' } as const;

/** Answers with `{ error: { code, message } }`. */
export function sendProblem(res: ServerResponse, p: { status: number; message: string }): void {
  res.writeHead(p.status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: problemCodes[p.status as keyof typeof problemCodes] ?? 'internal', message: p.message } }));
}

/** The fields every Bot Framework activity has and the adapter relies on; anything else is the handler's business. */
const activityShape = z.object({
  type: z.string().min(1).max(64),
  serviceUrl: z.url({ protocol: /^https?$/ }),
  channelId: z.string().min(1).max(64),
  from: z.object({ id: z.string().min(1).max(512) }),
  conversation: z.object({ id: z.string().min(1).max(1024) }),
  recipient: z.object({ id: z.string().min(1).max(512) }),
});

/** A body that is JSON but no usable activity gets a generic 400, before botbuilder (which would answer 500 with its internals). */
export function activityProblem(body: Record<string, unknown>): BodyProblem | undefined {
  return activityShape.safeParse(body).success ? undefined : { status: 400, message: 'Body is not a valid Bot Framework activity' };
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (how Node reports IPv4 peers on a dual-stack socket). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/i, '');
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

/** A URL whose host is this machine: localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackUrl(raw: string): boolean {
  let host: string;
  try {
    host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return host === 'localhost' || isLoopbackAddress(host);
}

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

/**
 * CloudAdapter's response surface (status/header/send/end) over Node's ServerResponse. CloudAdapter
 * answers its own failures with the error's message as body (a stack's worth of internals): those
 * bodies, and every 500, are replaced by a generic `{ error }`.
 */
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
      const internal = status >= 400 && (status === 500 || headers['content-type']?.startsWith('text/plain'));
      if (internal) {
        const generic = { 400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden' }[status] ?? 'Internal error';
        return sendProblem(res, { status, message: generic });
      }
      res.writeHead(status, headers);
      res.end(payload);
    },
  };
}
