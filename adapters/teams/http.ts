import { isIP } from 'node:net';
import { z } from 'zod';
import { HttpError, sendError, type HttpRequest, type HttpResponse } from '../http.ts';
import type { TransportRequest, TransportResponse } from './transport.ts';

/** Largest accepted activity body; real activities are a few KB, card invokes a little more. */
export const MAX_ACTIVITY_BYTES = 256 * 1024;

/** The fields every Bot Framework activity has and the adapter relies on; anything else is the handler's business. */
const activityShape = z.object({
  type: z.string().min(1).max(64),
  serviceUrl: z.url({ protocol: /^https?$/ }),
  channelId: z.string().min(1).max(64),
  from: z.object({ id: z.string().min(1).max(512) }),
  conversation: z.object({ id: z.string().min(1).max(1024) }),
  recipient: z.object({ id: z.string().min(1).max(512) }),
});

/**
 * The parsed body as an activity object; a body that is no usable activity is refused with a
 * generic 400 before botbuilder (which would answer 500 with its internals).
 */
export function activityBody(body: unknown): Record<string, unknown> {
  if (!activityShape.safeParse(body).success)
    throw new HttpError(400, 'bad_request', 'Body is not a valid Bot Framework activity');
  return body as Record<string, unknown>;
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

/** What replaces CloudAdapter's own error bodies. */
const genericProblems: Record<number, [code: string, message: string]> = {
  400: ['bad_request', 'Bad request'],
  401: ['unauthorized', 'Unauthorized'],
  403: ['forbidden', 'Forbidden'],
};

/** The request CloudAdapter expects, from Node's request and the parsed body. */
export function transportRequest(req: HttpRequest, body: Record<string, unknown>): TransportRequest {
  return { method: req.method ?? 'POST', headers: req.headers, body };
}

/**
 * CloudAdapter's response surface (status/header/send/end) over Node's ServerResponse. CloudAdapter
 * answers its own failures with the error's message as body (a stack's worth of internals): those
 * bodies, and every 500, are replaced by a generic `{ error }`.
 */
export function transportResponse(res: HttpResponse): TransportResponse {
  let status = 200;
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  return {
    socket: res.socket,
    status(code) {
      status = code;
    },
    header(name, value) {
      headers[name.toLowerCase()] = String(value);
    },
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
        const [code, message] = genericProblems[status] ?? ['internal', 'Internal error'];
        return sendError(res, new HttpError(status, code, message));
      }
      res.sendRaw(status, payload ?? '', headers);
    },
  };
}
