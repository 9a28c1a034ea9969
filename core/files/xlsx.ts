import * as XLSX from '@e965/xlsx';
import { listSheets, MAX_FILE_ROWS, refused } from './limits.ts';
import type { Table } from './table.ts';
import { checkXlsxContainer } from './zip-check.ts';

/**
 * Reads the first sheet of an uploaded XLSX (or the sheet named `sheet`, case-insensitive as in
 * Excel) into a table with the workbook's sheet names, after `checkXlsxContainer`. Formulas are
 * never evaluated: a cell reads as its cached value, as Excel last displayed it. Dense mode keeps
 * 100,000 rows small. More than MAX_FILE_ROWS data rows, an empty sheet or an unknown sheet name →
 * one sentence.
 */
export function readXlsx(name: string, bytes: Uint8Array, sheet?: string): Table {
  checkXlsxContainer(name, bytes);
  let book: XLSX.WorkBook;
  try {
    book = XLSX.read(bytes, {
      type: 'buffer',
      dense: true,
      sheets: sheet ?? 0,
      cellFormula: false,
      cellHTML: false,
      cellStyles: false,
      cellDates: false,
      bookVBA: false,
    });
  } catch {
    throw refused(
      'corrupt',
      `${name} could not be read as an .xlsx workbook; open it in Excel, save it again and resend it.`,
    );
  }
  // SheetJS picks the named sheet case-insensitively and keys it by its own spelling.
  const sheetName =
    sheet === undefined ? book.SheetNames[0] : book.SheetNames.find((n) => n.toLowerCase() === sheet.toLowerCase());
  const ws = sheetName === undefined ? undefined : book.Sheets[sheetName];
  if (!ws || sheetName === undefined) {
    throw refused(
      'no_sheet',
      sheet !== undefined
        ? `${name} has no sheet named ${sheet}; its sheets are ${listSheets(book.SheetNames)}.`
        : `${name} has no sheets.`,
    );
  }
  const ref = ws['!ref'];
  const range = ref ? XLSX.utils.decode_range(ref) : undefined;
  if (range && range.e.r - range.s.r > MAX_FILE_ROWS) {
    // The used range counts blank rows too; count the rows that hold something before refusing.
    const filled = (ws['!data'] ?? []).reduce(
      (n, r) => n + (r?.some((c) => c?.v !== undefined && c.v !== '') ? 1 : 0),
      0,
    );
    if (filled - 1 > MAX_FILE_ROWS) {
      throw refused(
        'too_many_rows',
        `${name} has ${(filled - 1).toLocaleString('en-US')} rows; at most ${MAX_FILE_ROWS.toLocaleString('en-US')} fit in one order, so split the file.`,
      );
    }
  }
  const grid = XLSX.utils.sheet_to_json<unknown[]>(ws, { header: 1, raw: false, defval: '', blankrows: false });
  const [header, ...rows] = grid.map((r) => r.map((c) => String(c ?? '').trim()));
  if (!header || rows.length === 0)
    throw refused('empty', `${name} has no data rows under its header (sheet ${sheetName}).`);
  return { header, rows, sheet: { name: sheetName, names: book.SheetNames } };
}
