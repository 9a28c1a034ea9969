import { Unzip, UnzipInflate } from 'fflate';
import { MAX_UNPACKED_BYTES, MAX_UNPACK_RATIO, refused } from './limits.ts';

/** One entry of a zip's central directory. */
type ZipEntry = { name: string; packed: number; unpacked: number; encrypted: boolean };

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;

/** The central directory's entries, read without inflating anything; undefined when it is not a readable zip. */
function centralDirectory(b: Buffer): ZipEntry[] | undefined {
  // The end record is within the last 22 + 65,535 (comment) bytes.
  let end = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65_535); i--) {
    if (b.readUInt32LE(i) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) return undefined;
  const count = b.readUInt16LE(end + 10);
  let at = b.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (at + 46 > b.length || b.readUInt32LE(at) !== CENTRAL) return undefined;
    const nameLength = b.readUInt16LE(at + 28);
    entries.push({
      encrypted: (b.readUInt16LE(at + 8) & 1) === 1,
      packed: b.readUInt32LE(at + 20),
      unpacked: b.readUInt32LE(at + 24),
      name: b.toString('utf8', at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + b.readUInt16LE(at + 30) + b.readUInt16LE(at + 32);
  }
  return entries;
}

/**
 * Checks an XLSX's zip container before any spreadsheet code inflates it: a readable central
 * directory, no encrypted entries, no macros (`vbaProject.bin`), and an unpacked size within
 * MAX_UNPACKED_BYTES and MAX_UNPACK_RATIO × the packed size — first as the directory declares it,
 * then as inflating actually produces it (streamed and discarded, stopped at the limit), since
 * declared sizes can lie.
 */
export function checkXlsxContainer(name: string, bytes: Uint8Array): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries = centralDirectory(b);
  if (!entries || entries.length === 0)
    throw refused('corrupt', `${name} is not a readable .xlsx workbook (its zip container is damaged).`);
  if (entries.some((e) => e.encrypted))
    throw refused('encrypted', `${name} is encrypted; save it without a password and send it again.`);
  if (entries.some((e) => /(^|\/)vbaProject\.bin$/i.test(e.name))) {
    throw refused(
      'macros',
      `${name} contains macros, which are not accepted; save it as a plain .xlsx workbook (without macros) and send it again.`,
    );
  }
  if (!entries.some((e) => e.name === 'xl/workbook.xml' || e.name === 'xl/workbook.bin')) {
    throw refused('not_workbook', `${name} is a zip archive, not an .xlsx workbook; send an .xlsx or .csv file.`);
  }
  const limit = Math.min(MAX_UNPACKED_BYTES, MAX_UNPACK_RATIO * bytes.byteLength);
  const bomb = () =>
    refused(
      'zip_bomb',
      `${name} unpacks to far more than its size (over ${Math.round(limit / 1024 / 1024)} MB), which looks like a zip bomb; it was not opened.`,
    );
  if (entries.reduce((sum, e) => sum + e.unpacked, 0) > limit) throw bomb();
  let inflated = 0;
  let over = false;
  const unzip = new Unzip((file) => {
    file.ondata = (err, data) => {
      if (err || over) return;
      inflated += data.length;
      if (inflated > limit) {
        over = true;
        file.terminate();
      }
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  try {
    // Pushed in chunks so a bomb is stopped after at most one chunk's worth of output.
    for (let i = 0; i < bytes.byteLength && !over; i += 64 * 1024)
      unzip.push(bytes.subarray(i, i + 64 * 1024), i + 64 * 1024 >= bytes.byteLength);
  } catch {
    if (!over) throw refused('corrupt', `${name} is not a readable .xlsx workbook (its zip container is damaged).`);
  }
  if (over) throw bomb();
}
