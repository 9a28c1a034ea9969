import { PassThrough, type Readable } from 'node:stream';
import ZipStream, { type ZipStreamOptions } from 'zip-stream';
import { drained, type ByteSink } from './sink.ts';

/**
 * A ZIP written entry by entry into a sink, in the order the entries are added. Every method
 * resolves once the sink can take more, so at most about two entries' bytes wait in memory (the
 * one being written and the next; the central directory, a few hundred bytes per entry, is all
 * that grows). Zip64 records are written where they are needed (65,535 entries or more, offsets
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

type WriteDone = (error: Error | null | undefined) => void;

/**
 * zip-stream with each record in one write: compress-commons writes a header field by field (a
 * dozen writes of 2 to 8 bytes per entry, each a buffered chunk with its own objects), and the
 * central directory all at once — for 100,000 entries 1.7 million chunks, an RSS peak of 826 MB
 * against 341 MB gathered (`bench:zip-writer`, before `unlessFailed` below; 282 MB with it).
 * Gathered, it is one chunk per record and about half the CPU. Offsets stay exact while a record is gathered (the record writers read `offset`).
 */
class RecordPerWrite extends ZipStream {
  /** What this class relies on in compress-commons (checked when a writer starts). */
  static readonly internals = [
    '_writeLocalFileHeader',
    '_writeCentralFileHeader',
    '_writeDataDescriptor',
    'isZip64',
  ] as const;
  #parts: Buffer[] | undefined;

  constructor(options: ZipStreamOptions) {
    super(options);
    if (!Array.isArray(this._entries)) throw new Error('zip-stream no longer keeps _entries');
  }

  protected override _writeLocalFileHeader(entry: unknown) {
    this.#gathered(() => super._writeLocalFileHeader(entry));
  }
  protected override _writeCentralFileHeader(entry: unknown) {
    this.#gathered(() => super._writeCentralFileHeader(entry));
  }
  protected override _writeDataDescriptor(entry: unknown) {
    this.#gathered(() => super._writeDataDescriptor(entry));
  }

  /**
   * compress-commons writes Zip64 from 65,536 entries on; at exactly 65,535 the end record's count
   * would be 0xFFFF, which readers take to mean "see the Zip64 record", so write it then too.
   */
  override isZip64(): boolean {
    return super.isZip64() || this._entries.length >= 0xffff;
  }

  override write(chunk: unknown, encoding?: BufferEncoding | WriteDone, done?: WriteDone): boolean {
    if (!this.#parts) {
      if (typeof encoding === 'function') return super.write(chunk, encoding);
      return encoding === undefined ? super.write(chunk, done) : super.write(chunk, encoding, done);
    }
    const part = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!Buffer.isBuffer(part)) throw new Error('compress-commons wrote a record part that is not bytes');
    this.#parts.push(part);
    this.offset += part.length;
    return true;
  }

  #gathered(write: () => void) {
    const parts: Buffer[] = (this.#parts = []);
    try {
      write();
    } finally {
      this.#parts = undefined;
    }
    const record = Buffer.concat(parts);
    this.offset -= record.length; // counted again by the write below
    super.write(record);
  }
}

/**
 * Starts a ZIP into `out`; every entry is dated `mtime` (DOS time in UTC). The engine is
 * zip-stream (compress-commons underneath): constant work per entry, Zip64 on its own where
 * needed, one entry at a time — which is all this interface asks of it.
 */
export function createZipWriter(out: ByteSink, mtime: Date): ZipWriter {
  // Deflate level 6 for results.csv (zip-stream defaults to 1); images say `store` per entry.
  for (const name of RecordPerWrite.internals)
    if (typeof ZipStream.prototype[name] !== 'function') throw new Error(`zip-stream no longer has ${name}`);
  const zip = new RecordPerWrite({ zlib: { level: 6 } });

  let failure: Error | undefined;
  /**
   * Those waiting in `unlessFailed`, rejected when the archive fails. (Not a race with one
   * never-settled promise: each race would leave a reaction on it, a leak per entry.)
   */
  const waiting = new Set<(err: Error) => void>();
  const fail = (err: unknown) => {
    failure ??= err instanceof Error ? err : new Error(String(err));
    for (const reject of waiting) reject(failure);
    waiting.clear();
    zip.destroy();
  };
  /** `step`, or the archive's failure if that comes first. */
  const unlessFailed = <T>(step: Promise<T>): Promise<T> => {
    if (failure) return Promise.reject(failure);
    return new Promise<T>((resolve, reject) => {
      waiting.add(reject);
      step.then(resolve, reject).finally(() => waiting.delete(reject));
    });
  };
  zip.on('error', fail);

  let bytes = 0;
  const copied = (async () => {
    for await (const chunk of zip) {
      if (!(chunk instanceof Uint8Array)) throw new Error('zip-stream wrote something other than bytes');
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
    if (stream.writableNeedDrain) await unlessFailed(drained(stream));
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
   * zip-stream takes one entry at a time, so each waits for the one before it (callers await each
   * method anyway; this keeps an eager caller correct). Resolves once the entry is in the ZIP
   * stream: at once for bytes, when the stream ended for a stream.
   */
  let last: Promise<unknown> = Promise.resolve();
  const append = (name: string, source: Buffer | Readable, store: boolean): Promise<void> => {
    const written = last.then(
      () =>
        new Promise<void>((resolve, reject) => {
          if (failure) throw failure;
          zip.entry(source, { name, date: mtime, store }, (err) => (err ? reject(err) : resolve()));
        }),
    );
    last = written.catch(() => {}); // the failure is the caller's (and then the archive's)
    return unlessFailed(written);
  };

  return {
    addStored: (name, data) =>
      failing(async () => {
        await append(name, Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length), true);
        await room(zip);
      }),
    addStoredStream: (name, stream) =>
      failing(async () => {
        await append(name, stream, true);
        await room(zip);
      }),
    addDeflated(name) {
      const body = new PassThrough();
      const written = append(name, body, false);
      written.catch(fail);
      return {
        write: (chunk) =>
          failing(async () => {
            body.write(chunk);
            await room(body);
          }),
        end: () =>
          failing(async () => {
            body.end();
            await written;
            await room(zip);
          }),
      };
    },
    finish: () =>
      failing(async () => {
        await unlessFailed(last);
        if (failure) throw failure;
        zip.finalize();
        await unlessFailed(copied);
        return bytes;
      }),
  };
}
