import type { Writable } from 'node:stream';

/** Where an export writes: a file, an HTTP response, an upload body — any Node writable stream. */
export type ByteSink = Pick<Writable, 'write' | 'once' | 'off' | 'writableNeedDrain' | 'destroyed'>;

const DESTINATION_CLOSED = "the export's destination closed";

/** Writes `chunk` and, when the sink's buffer is full, waits until it drained: memory stays bounded. */
export async function writeTo(out: ByteSink, chunk: string | Uint8Array): Promise<void> {
  out.write(chunk);
  await drained(out);
}

/**
 * Resolves once `out` takes more; rejects when it errors or closes first (a client that went away),
 * or was destroyed already: a destroyed stream never needs a drain, and takes every write silently.
 */
export async function drained(out: ByteSink): Promise<void> {
  if (out.destroyed) throw new Error(DESTINATION_CLOSED);
  if (!out.writableNeedDrain) return;
  await new Promise<void>((resolve, reject) => {
    const off = () => {
      out.off('drain', done);
      out.off('error', fail);
      out.off('close', closed);
    };
    const done = () => {
      off();
      resolve();
    };
    const fail = (err: Error) => {
      off();
      reject(err);
    };
    const closed = () => {
      off();
      reject(new Error(DESTINATION_CLOSED));
    };
    out.once('drain', done);
    out.once('error', fail);
    out.once('close', closed);
  });
}
