/** One CSV record and the physical line (1-based) it starts on. */
export type CsvRecord = { line: number; fields: string[] };

/** A syntax problem at a physical line (1-based). */
export type CsvProblem = { line: number; message: string };

/** Parsed records plus every syntax problem; records with a problem are not included. */
export type CsvParseResult = { records: CsvRecord[]; problems: CsvProblem[] };

/**
 * Parses RFC 4180 CSV: comma separated, fields optionally enclosed in double quotes (which may
 * contain commas, line breaks and doubled quotes `""`), records ending in CRLF, LF or CR. A
 * leading UTF-8 BOM is ignored and empty lines are skipped. Instead of stopping at the first
 * problem, a malformed record is reported with its starting line and parsing resumes at the
 * next line, so callers can report every bad row at once.
 */
export function parseCsv(text: string): CsvParseResult {
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  let i = 0;
  let line = 1;

  while (i < src.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let problem: string | undefined;
    let quoted = false;

    fieldLoop: while (true) {
      if (src[i] === '"') {
        quoted = true;
        i++;
        while (true) {
          if (i >= src.length) { problem = 'a quoted field is never closed (missing ")'; break fieldLoop; }
          const c = src[i]!;
          if (c === '"') {
            if (src[i + 1] === '"') { field += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (c === '\r' || c === '\n') {
            if (c === '\r' && src[i + 1] === '\n') { field += '\r\n'; i += 2; } else { field += c; i++; }
            line++;
            continue;
          }
          field += c;
          i++;
        }
        const next = src[i];
        if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') {
          problem = 'unexpected text after a closing quote (a quote inside a quoted field must be doubled: "")';
          break;
        }
      } else {
        while (i < src.length) {
          const c = src[i]!;
          if (c === ',' || c === '\r' || c === '\n') break;
          if (c === '"') { problem = 'a quote inside an unquoted field (quote the whole field and double the quote: "")'; break fieldLoop; }
          field += c;
          i++;
        }
      }
      fields.push(field);
      field = '';
      if (i >= src.length) break;
      const c = src[i]!;
      if (c === ',') { i++; continue; }
      i += c === '\r' && src[i + 1] === '\n' ? 2 : 1;
      line++;
      break;
    }

    if (problem !== undefined) {
      problems.push({ line: start, message: problem });
      // Resume after the line break of the line where the problem was found.
      while (i < src.length && src[i] !== '\n' && src[i] !== '\r') i++;
      if (i < src.length) { i += src[i] === '\r' && src[i + 1] === '\n' ? 2 : 1; line++; }
      continue;
    }
    const blankLine = !quoted && fields.length === 1 && fields[0] === '';
    if (!blankLine) records.push({ line: start, fields });
  }
  return { records, problems };
}
