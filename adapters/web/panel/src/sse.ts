import { EventSourceParserStream } from 'eventsource-parser/stream';

/** One server-sent event: its type (`message` when unnamed) and its data, `data:` lines joined by newlines. */
export type StreamEvent = { event: string; data: string };

/**
 * Reads a server-sent-event body with eventsource-parser (events split across chunks, multi-line
 * `data:`, comments and CRLF handled as the format defines them) and hands each event to
 * `onEvent`; stops early when `onEvent` returns true. Resolves true when stopped, false when the
 * stream ended first.
 */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (e: StreamEvent) => boolean | void,
): Promise<boolean> {
  // TextDecoderStream takes any BufferSource; the DOM typings make its writable side reject a Uint8Array stream.
  const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
  const reader = body.pipeThrough(decoder).pipeThrough(new EventSourceParserStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      if (onEvent({ event: value.event ?? 'message', data: value.data })) return true;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
}
