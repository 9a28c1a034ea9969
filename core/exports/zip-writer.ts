import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ZipFile, type ReadStreamOptions } from 'yazl';
import { drained, type ByteSink } from './sink.ts';

/**
 * A ZIP written entry by entry into a sink, in the order the entries are added. Every method
 * resolves once the sink can take more, so at most about two entries' bytes wait in memory (the
 * one being written and the next; the central directory, a few hundred bytes per entry, is all
 * that grows). Zip64 records are written where they are needed (more than 65,535 entries, offsets
 * past 4 GiB), not otherwise. Any method rejects when the sink errors or closes first, or when an
 * entry cannot be added (then the archive is abandoned); the sink is never ended.
 */
export type ZipWriter = {
  /**
   * A stored (not recompressed) entry of `bytes`, for files small enough to read in one call;
   * resolves once the entry before it is written, so the caller can read the next file meanwhile.
   */
  addStored(name: string, bytes: Uint8Array): Promise<void>;
  /** A stored entry of what `stream` yields; resolves once the stream is read to its end. */
  addStoredStream(name: string, stream: Readable): Promise<void>;
  /** A deflated entry written in parts: `write` each part, then `end`. */
  addDeflated(name: string): { write(chunk: string | Uint8Array): Promise<void>; end(): Promise<void> };
  /** Writes the central directory; resolves with the archive's size once every byte is in the sink. */
  finish(): Promise<number>;
};

/** Starts a ZIP into `out`; every entry is dated `mtime`. */
export function createZipWriter(out: ByteSink, mtime: Date): ZipWriter {
  const zip = new ZipFile();
  const output = zip.outputStream;
  // The typings say only "readable"; yazl makes a PassThrough, whose writable side is the backpressure we wait on.
  if (!(output instanceof PassThrough)) throw new Error("yazl's output stream is not a PassThrough");

  let failure: Error | undefined;
  let stop: (err: Error) => void = () => {};
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  stopped.catch(() => {}); // observed through `room`; never left unhandled
  const fail = (err: unknown) => {
    failure ??= err instanceof Error ? err : new Error(String(err));
    stop(failure);
    output.destroy();
  };
  zip.on('error', fail);

  let bytes = 0;
  const copied = (async () => {
    for await (const chunk of output) {
      if (!(chunk instanceof Uint8Array)) throw new Error('yazl wrote something other than bytes');
      bytes += chunk.length;
      out.write(chunk);
      await drained(out);
    }
  })().catch((err: unknown) => {
    fail(err);
    throw failure;
  });
  copied.catch(() => {}); // rethrown by `finish`

  /** Waits until `stream` takes more (or the archive failed). */
  const room = async (stream: ByteSink) => {
    if (failure) throw failure;
    await Promise.race([drained(stream), stopped]);
  };
  /** Runs `step`; when it fails (a bad name, an unreadable stream), so does the whole archive. */
  const failing = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      fail(err);
      throw failure;
    }
  };
  /**
   * Queues the entry `name` whose bytes `open` yields once its turn comes: `opened` resolves when
   * yazl took them (the previous entry is written), `read` when they were read to the end. yazl
   * keeps the callback it is handed until the archive ends, so that callback reaches `open` (and
   * the bytes it holds) only through a holder emptied once it is called.
   */
  const enqueue = (name: string, options: Partial<ReadStreamOptions>, open: () => Readable) => {
    const holder: { open?: () => Readable } = { open };
    const opened = Promise.withResolvers<void>();
    const read = Promise.withResolvers<void>();
    read.promise.catch(fail);
    zip.addReadStreamLazy(name, options, (take) => {
      const stream = holder.open?.();
      delete holder.open;
      if (!stream) return take(new Error(`the ZIP entry ${name} was opened twice`), new PassThrough());
      finished(stream).then(read.resolve, read.reject);
      take(null, stream);
      opened.resolve();
    });
    return { opened: opened.promise, read: read.promise };
  };
  const store = { compress: false, mtime };

  return {
    addStored: (name, data) =>
      failing(async () => {
        const entry = enqueue(name, store, () => Readable.from([data], { objectMode: false }));
        await Promise.race([entry.opened, stopped]);
        await room(output);
      }),
    addStoredStream: (name, stream) =>
      failing(async () => {
        await Promise.race([enqueue(name, store, () => stream).read, stopped]);
        await room(output);
      }),
    addDeflated(name) {
      const body = new PassThrough();
      try {
        enqueue(name, { compressionLevel: 6, mtime }, () => body);
      } catch (err) {
        fail(err);
        throw failure;
      }
      return {
        write: (chunk) =>
          failing(async () => {
            body.write(chunk);
            await room(body);
          }),
        end: () =>
          failing(async () => {
            body.end();
            await room(output);
          }),
      };
    },
    finish: () =>
      failing(async () => {
        zip.end();
        await Promise.race([copied, stopped]);
        return bytes;
      }),
  };
}
