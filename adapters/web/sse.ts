import type { HttpResponse } from '../http.ts';

/** True when the client asked for server-sent events. */
export function wantsEventStream(accept: string | undefined): boolean {
  return /\btext\/event-stream\b/i.test(accept ?? '');
}

/**
 * A server-sent-event writer: `event: <name>\ndata: <json>\n\n`, with a comment heartbeat so
 * proxies keep the connection open while the model works. Writes after the client left are dropped.
 */
export function openEventStream(res: HttpResponse, headers: Record<string, string> = {}) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    ...headers,
  });
  res.flushHeaders();
  const heartbeat = setInterval(() => {
    if (!res.destroyed) res.write(': keep-alive\n\n');
  }, 15_000);
  return {
    send(event: string, data: unknown): void {
      if (!res.destroyed && !res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end(): void {
      clearInterval(heartbeat);
      if (!res.writableEnded) res.end();
    },
  };
}
