import { CsvError, parse } from 'csv-parse/sync';
import { UserInputError } from '../errors.ts';

/** One CSV record and the physical line (1-based) it starts on. */
type CsvRecord = { line: number; fields: string[] };

/** A syntax problem at a physical line (1-based). */
export type CsvProblem = { line: number; message: string };

/** Field separators a CSV file may use: `,` (RFC 4180) or `;` (what German Excel writes). */
export type CsvDelimiter = ',' | ';';

/** Parsed records plus every syntax problem; records with a problem are not included. */
export type CsvParseResult = { records: CsvRecord[]; problems: CsvProblem[]; delimiter: CsvDelimiter };

/**
 * Parses CSV with csv-parse: fields separated by `delimiter` (default: detected from the header
 * line, see `detectDelimiter`), optionally enclosed in double quotes (which may contain the
 * delimiter, line breaks and doubled quotes `""`), records ending in CRLF, LF or CR (mixed is
 * fine; line breaks inside quoted fields come back as `\n`). A leading UTF-8 BOM is ignored and
 * empty lines are skipped. Instead of stopping at the first problem, a malformed record is
 * reported with its starting line and parsing resumes on the line after the one where the
 * problem was found, so callers can report every bad row at once. (csv-parse's own
 * `skip_records_with_error` does not do this: it drops the broken record but goes on parsing
 * inside it, so after a bad closing quote the rest of the file is read as one quoted field and
 * lost, and it reports the line an error was found on, not the line the record starts on.)
 */
export function parseCsv(text: string, delimiter?: CsvDelimiter): CsvParseResult {
  const src = (text.startsWith('\uFEFF') ? text.slice(1) : text).replace(/\r\n?/g, '\n');
  const sep = delimiter ?? detectDelimiter(src.split('\n', 1)[0]!);
  const buf = Buffer.from(src, 'utf8');
  const lineStarts = [0];
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) lineStarts.push(i + 1);

  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  // Parse from `first` (a 1-based line) until the end or the next syntax error, then resume
  // after the line the error was found on. Each segment is a view into `buf`, so the work stays
  // linear in the file size however many lines are broken.
  for (let first = 1; first <= lineStarts.length;) {
    let lastEnd = first - 1;
    try {
      parse(buf.subarray(lineStarts[first - 1]), {
        delimiter: sep,
        record_delimiter: '\n',
        relax_column_count: true,
        skip_empty_lines: true,
        on_record: (fields: string[], info) => {
          const end = first - 1 + info.lines;
          records.push({ line: end - fields.reduce((n, f) => n + countNewlines(f), 0), fields });
          lastEnd = end;
          return null;
        },
      });
      break;
    } catch (err) {
      if (!(err instanceof CsvError)) throw err;
      const found = first - 1 + (typeof err.lines === 'number' ? err.lines : 1);
      let start = lastEnd + 1;
      while (start < found && lineStarts[start] === lineStarts[start - 1]! + 1) start++;
      problems.push({ line: start, message: describe(err) });
      first = found + 1;
    }
  }
  return { records, problems, delimiter: sep };
}

/**
 * The separator of a file whose first line is `headerLine`: `;` when the line has more
 * semicolons than commas (German Excel's "CSV (Trennzeichen-getrennt)"), else `,`.
 */
export function detectDelimiter(headerLine: string): CsvDelimiter {
  const count = (c: string) => headerLine.split(c).length - 1;
  return count(';') > count(',') ? ';' : ',';
}

/**
 * Decodes an uploaded CSV file as UTF-8 (with or without BOM). Bytes that are not UTF-8 —
 * typically Excel's "CSV (Trennzeichen-getrennt)" in Windows-1252 — are refused with
 * UserInputError 'csv_encoding' instead of being imported as garbled names.
 */
export function decodeCsvFile(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UserInputError(
      'csv_encoding',
      'The CSV is not UTF-8 text (nothing was changed). In Excel save it as "CSV UTF-8 (comma delimited)"; semicolon-separated files are fine too.',
    );
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function describe(err: CsvError): string {
  switch (err.code) {
    case 'INVALID_OPENING_QUOTE':
      return 'a quote inside an unquoted field (quote the whole field and double the quote: "")';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'unexpected text after a closing quote (a quote inside a quoted field must be doubled: "")';
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed (missing ")';
    case 'CSV_MAX_RECORD_SIZE':
      return 'the record is too long (more than 128,000 characters; is a quote missing?)';
    default:
      return `the line could not be read as CSV (${err.code})`;
  }
}
