import { decodeCsvFile, parseCsv } from '../pipeline/csv.ts';
import { MAX_FILE_ROWS, refused } from './limits.ts';
import type { Table } from './table.ts';

/**
 * Reads an uploaded CSV (UTF-8 with or without BOM, `,` or `;`) into a table. Not UTF-8, no
 * header, no data rows, more than MAX_FILE_ROWS rows or a syntax error → one sentence.
 */
export function readCsv(name: string, bytes: Uint8Array): Table {
  let text: string;
  try {
    text = decodeCsvFile(bytes);
  } catch {
    throw refused(
      'encoding',
      `${name} is not UTF-8 text; in Excel save it as "CSV UTF-8 (comma delimited)" and send it again.`,
    );
  }
  const parsed = parseCsv(text);
  const first = parsed.problems[0];
  if (first) throw refused('csv_syntax', `${name} cannot be read as CSV: line ${first.line} has ${first.message}.`);
  const [header, ...rest] = parsed.records;
  if (!header || rest.length === 0) throw refused('empty', `${name} has no data rows under its header.`);
  if (rest.length > MAX_FILE_ROWS) {
    throw refused(
      'too_many_rows',
      `${name} has ${rest.length.toLocaleString('en-US')} rows; at most ${MAX_FILE_ROWS.toLocaleString('en-US')} fit in one order, so split the file.`,
    );
  }
  return { header: header.fields.map((f) => f.trim()), rows: rest.map((r) => r.fields.map((f) => f.trim())) };
}
