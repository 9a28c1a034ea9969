import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createZipWriter } from '../core/exports/zip-writer.ts';

/*
 * The export's ZIP writer (core/exports/zip-writer.ts) through its streaming interface into a real
 * file, read back by Python's zipfile (which checks every entry's CRC) and by the bytes of the
 * archive's end records: Zip64 beyond 65,535 entries, entries that round-trip byte for byte.
 */

const dir = mkdtempSync(join(tmpdir(), 'renderbot-zip-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Writes a ZIP with `fill` into a new file and returns its path and the size the writer reported. */
async function zipFile(name: string, fill: (zip: ReturnType<typeof createZipWriter>) => Promise<void>) {
  const path = join(dir, name);
  const out = createWriteStream(path);
  const zip = createZipWriter(out, new Date('2026-03-01T12:00:00Z'));
  await fill(zip);
  const size = await zip.finish();
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { path, size };
}

const pythonReport = z.object({
  count: z.number(),
  bad: z.string().nullable(),
  names: z.array(z.string()),
  sha256: z.record(z.string(), z.string()),
  stored: z.record(z.string(), z.boolean()),
});

/** Python's zipfile reads the archive: entry count, the first CRC error (or null), names in order, and the hashes of `pick`. */
function readWithPython(path: string, pick: string[]) {
  const script = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    infos = z.infolist()
    pick = json.loads(sys.argv[2])
    print(json.dumps({
        "count": len(infos),
        "bad": z.testzip(),
        "names": [i.filename for i in infos],
        "sha256": {n: hashlib.sha256(z.read(n)).hexdigest() for n in pick},
        "stored": {n: z.getinfo(n).compress_type == zipfile.ZIP_STORED for n in pick},
    }))
`;
  const run = spawnSync('python3', ['-c', script, path, JSON.stringify(pick)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`python3 could not read ${path}: ${run.error?.message ?? run.stderr}`);
  return pythonReport.parse(JSON.parse(run.stdout));
}

/** The entry count of the Zip64 end of central directory record, or undefined when the archive has none. */
async function zip64EntryCount(path: string): Promise<bigint | undefined> {
  const file = await readFile(path);
  const end = file.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])); // end of central directory (no comment)
  const locator = end - 20;
  if (locator < 0 || file.readUInt32LE(locator) !== 0x07064b50) return undefined;
  const record = Number(file.readBigUInt64LE(locator + 8));
  expect(file.readUInt32LE(record)).toBe(0x06064b50);
  expect(file.readUInt16LE(end + 10)).toBe(0xffff); // the 16-bit count says "see Zip64"
  return file.readBigUInt64LE(record + 32);
}

describe('ZIP writer', () => {
  it('writes more than 65,535 entries as Zip64 that a real reader lists and checks in full', async () => {
    const count = 65_600;
    const name = (i: number) => `P-${String(i).padStart(5, '0')}.webp`;
    const bytesOf = (i: number) => Buffer.from(`image ${i}`);
    const { path, size } = await zipFile('many.zip', async (zip) => {
      for (let i = 0; i < count; i++) await zip.addStored(name(i), bytesOf(i));
      const csv = zip.addDeflated('results.csv');
      await csv.write('"PIM ID"\r\n');
      await csv.end();
    });
    expect((await stat(path)).size).toBe(size);

    expect(await zip64EntryCount(path)).toBe(BigInt(count + 1));
    const picked = [name(0), name(65_535), name(count - 1), 'results.csv'];
    const read = readWithPython(path, picked);
    expect(read.count).toBe(count + 1);
    expect(read.bad).toBeNull();
    expect(read.names.slice(0, 2)).toEqual([name(0), name(1)]);
    expect(read.names.at(-1)).toBe('results.csv');
    expect(new Set(read.names).size).toBe(count + 1);
    expect(read.sha256).toEqual({
      [name(0)]: sha256(bytesOf(0)),
      [name(65_535)]: sha256(bytesOf(65_535)),
      [name(count - 1)]: sha256(bytesOf(count - 1)),
      'results.csv': sha256(Buffer.from('"PIM ID"\r\n')),
    });
    expect(read.stored).toEqual({
      [name(0)]: true,
      [name(65_535)]: true,
      [name(count - 1)]: true,
      'results.csv': false,
    });
  }, 120_000);

  it('writes Zip64 at exactly 65,535 entries too, where the 16-bit count would read as "see Zip64"', async () => {
    const { path } = await zipFile('65535.zip', async (zip) => {
      for (let i = 0; i < 65_535; i++) await zip.addStored(`P-${i}.webp`, Buffer.from(`${i}`));
    });
    expect(await zip64EntryCount(path)).toBe(65_535n);
    expect(readWithPython(path, []).count).toBe(65_535);
  }, 60_000);

  it('round-trips the bytes of stored, streamed and deflated entries, and stays plain ZIP when small', async () => {
    const small = randomBytes(1000);
    const large = randomBytes(5 * 1024 * 1024 + 7);
    const csv = ['\uFEFF"PIM ID","Name"\r\n', '"KL-1","Chair ä"\r\n'.repeat(5000)];
    const { path } = await zipFile('round-trip.zip', async (zip) => {
      await zip.addStored('small.png', small);
      // Handed over in 64 KiB parts, as a file's read stream would.
      const parts = Array.from({ length: Math.ceil(large.length / 65536) }, (_, i) =>
        large.subarray(i * 65536, (i + 1) * 65536),
      );
      await zip.addStoredStream('large.png', Readable.from(parts));
      const entry = zip.addDeflated('results.csv');
      for (const part of csv) await entry.write(part);
      await entry.end();
    });

    const names = ['small.png', 'large.png', 'results.csv'];
    const read = readWithPython(path, names);
    expect(read.bad).toBeNull();
    expect(read.names).toEqual(names);
    expect(read.sha256).toEqual({
      'small.png': sha256(small),
      'large.png': sha256(large),
      'results.csv': sha256(Buffer.from(csv.join(''), 'utf8')),
    });
    expect(read.stored).toEqual({ 'small.png': true, 'large.png': true, 'results.csv': false });
    expect(await zip64EntryCount(path)).toBeUndefined();
    // Info-ZIP agrees on the listing.
    const listing = spawnSync('unzip', ['-Z1', path], { encoding: 'utf8' });
    expect(listing.stdout.trim().split('\n')).toEqual(names);
  });

  it('rejects when the destination closes mid-archive instead of waiting for it forever', async () => {
    // Takes the first chunk and never finishes writing it, then goes away (a client that disconnected).
    const out: Writable = new Writable({ highWaterMark: 1, write: () => queueMicrotask(() => out.destroy()) });
    const zip = createZipWriter(out, new Date());
    const writing = (async () => {
      for (let i = 0; i < 1000; i++) await zip.addStored(`P-${i}.png`, randomBytes(4096));
    })();
    await expect(writing).rejects.toThrow("the export's destination closed");
  });

  it('stops when the destination went away while nothing waited on it, instead of writing the rest into nothing', async () => {
    // A roomy destination never asks to wait; it is destroyed after its first write (the client left).
    const out: Writable = new Writable({
      highWaterMark: 1 << 30,
      write: (_chunk, _encoding, done) => {
        out.destroy();
        done();
      },
    });
    const zip = createZipWriter(out, new Date());
    const writing = (async () => {
      for (let i = 0; i < 1000; i++) await zip.addStored(`P-${i}.png`, randomBytes(4096));
      return zip.finish();
    })();
    await expect(writing).rejects.toThrow("the export's destination closed");
  });
});
