import { refused } from './limits.ts';

/** What a file's bytes are, whatever its name says. */
export type FileKind = 'csv' | 'xlsx';

const startsWith = (b: Uint8Array, sig: readonly number[]) => sig.every((v, i) => b[i] === v);

const ZIP = [0x50, 0x4b, 0x03, 0x04];
// Compound File Binary (OLE): password-protected OOXML workbooks and old .xls files.
const CFB = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const BINARY: readonly (readonly [string, readonly number[]])[] = [
  ['a PNG image', [0x89, 0x50, 0x4e, 0x47]],
  ['a JPEG image', [0xff, 0xd8, 0xff]],
  ['a GIF image', [0x47, 0x49, 0x46, 0x38]],
  ['a PDF document', [0x25, 0x50, 0x44, 0x46]],
  ['a gzip archive', [0x1f, 0x8b]],
];

/**
 * Decides from the bytes (never the name alone) whether `name` is a CSV text or an XLSX
 * workbook; anything else — images, PDFs, encrypted or legacy workbooks, HTML or JSON saved
 * under a spreadsheet's name, empty files — is refused with one sentence.
 */
export function sniffFile(name: string, bytes: Uint8Array): FileKind {
  if (bytes.length === 0) throw refused('empty', `${name} is empty.`);
  if (startsWith(bytes, ZIP)) return 'xlsx';
  if (startsWith(bytes, CFB)) {
    throw refused(
      'encrypted',
      `${name} is a password-protected or old-format (.xls) workbook; save it without a password as .xlsx or CSV UTF-8 and send it again.`,
    );
  }
  for (const [what, sig] of BINARY) {
    if (startsWith(bytes, sig))
      throw refused('binary', `${name} is ${what}, not a spreadsheet; send an .xlsx or .csv file.`);
  }
  const head = bytes.subarray(0, 8192);
  if (head.includes(0))
    throw refused('binary', `${name} is a binary file, not a spreadsheet; send an .xlsx or .csv file.`);
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  const first = head[i];
  if (first === 0x3c)
    throw refused(
      'markup',
      `${name} is an HTML or XML page, not a spreadsheet; export it from your PIM as .xlsx or .csv.`,
    );
  if (first === 0x7b || first === 0x5b)
    throw refused('json', `${name} is JSON, not a spreadsheet; export it from your PIM as .xlsx or .csv.`);
  return 'csv';
}
