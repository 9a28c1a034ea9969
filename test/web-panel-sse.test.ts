import { describe, expect, it } from 'vitest';
import { readEventStream, type StreamEvent } from '../adapters/web/panel/src/sse.ts';

/** A body delivered in the given chunks, as a network would split it. */
const body = (...chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
      c.close();
    },
  });

describe("the panel's server-sent-event reader", () => {
  it('joins multi-line data, skips comments and reads events split across chunks and CRLF lines', async () => {
    const events: StreamEvent[] = [];
    const stopped = await readEventStream(
      body(
        ': keep-alive\n\n',
        'event: token\ndata: {"text":\ndata: "line one\\nline two"}\n\n',
        'event: do',
        'ne\r\ndata: {"session_id":',
        '"s"}\r\n\r\n',
      ),
      (e) => {
        events.push(e);
      },
    );
    expect(stopped).toBe(false);
    expect(events).toEqual([
      { event: 'token', data: '{"text":\n"line one\\nline two"}' },
      { event: 'done', data: '{"session_id":"s"}' },
    ]);
    expect(JSON.parse(events[0]!.data)).toEqual({ text: 'line one\nline two' });
  });

  it('stops at the event the caller asks to stop at', async () => {
    const seen: string[] = [];
    const stopped = await readEventStream(body('data: 1\n\ndata: 2\n\ndata: 3\n\n'), (e) => {
      seen.push(e.data);
      return e.data === '2';
    });
    expect({ stopped, seen }).toEqual({ stopped: true, seen: ['1', '2'] });
  });
});
