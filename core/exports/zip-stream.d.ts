/**
 * The part of zip-stream 7 (archiver's ZIP engine, on compress-commons) that the export's ZIP
 * writer uses; the package ships no typings. At run time the stream is readable-stream 4's
 * Transform, which behaves as Node's (write/backpressure, async iteration, destroy, events).
 */
declare module 'zip-stream' {
  import type { Readable, Transform } from 'node:stream';
  import type { ZlibOptions } from 'node:zlib';

  export type ZipStreamOptions = {
    comment?: string;
    /** DOS times in the server's local time instead of UTC. */
    forceLocalTime?: boolean;
    /** Zip64 records even when nothing needs them (they are written automatically when something does). */
    forceZip64?: boolean;
    /** The default of every entry: stored instead of deflated. */
    store?: boolean;
    /** For deflated entries. */
    zlib?: ZlibOptions;
  };

  export type ZipStreamEntry = {
    name: string;
    date?: Date;
    mode?: number;
    store?: boolean;
    comment?: string;
    type?: 'file' | 'directory' | 'symlink';
  };

  export default class ZipStream extends Transform {
    constructor(options?: ZipStreamOptions);
    /**
     * Writes one entry; only one at a time (another before `callback` fails with "already
     * processing an entry"). A buffer is written at once, a stream piped through until it ends.
     */
    entry(source: Buffer | Readable | string, data: ZipStreamEntry, callback: (err: Error | null) => void): void;
    /** Writes the central directory (after the entry in progress) and ends the stream. */
    finalize(): void;
    getBytesWritten(): number;
    /** Whether the end of the archive needs Zip64 records. */
    isZip64(): boolean;
    /** The entries written so far (their central directory records come at the end). */
    protected _entries: unknown[];
    /** Bytes written so far (the next local header's offset). */
    protected offset: number;
    /* compress-commons' record writers, each a burst of small writes (one per field). */
    protected _writeLocalFileHeader(entry: unknown): void;
    protected _writeCentralFileHeader(entry: unknown): void;
    protected _writeDataDescriptor(entry: unknown): void;
  }
}
