/**
 * A parsed sheet: the header row's cells and the data rows as text (cells trimmed; missing cells '').
 * An XLSX table also names the sheet it was read from and the workbook's sheets, in order.
 */
export type Table = { header: string[]; rows: string[][]; sheet?: { name: string; names: string[] } };
