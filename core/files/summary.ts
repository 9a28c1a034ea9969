import { z } from 'zod';
import { listSheets, MAX_LISTED_SHEETS } from './limits.ts';

/** What parsing and matching found in a file, as stored in `uploaded_file.summary`. */
export const fileSummarySchema = z.object({
  name: z.string(),
  kind: z.enum(['csv', 'xlsx']),
  rows: z.number(),
  column: z.string(),
  ids: z.number(),
  matched: z.number(),
  unknown: z.number(),
  unknownSample: z.array(z.string()),
  duplicates: z.number(),
  duplicateSample: z.array(z.string()),
  blank: z.number(),
  /** The material column's header, when the file has one; how many ids name a material; names that are no material of the tenant. */
  materialColumn: z.string().optional(),
  withMaterial: z.number().optional(),
  unknownMaterials: z.array(z.string()).optional(),
  /** An XLSX's sheet that was read, and the workbook's sheet names in order (the first MAX_LISTED_SHEETS + 2). */
  sheet: z.string().optional(),
  sheets: z.array(z.string()).optional(),
});
export type FileSummary = z.infer<typeof fileSummarySchema>;

/** A parsed upload: its summary and its distinct product ids in file order. */
export type ParsedFile = { summary: FileSummary; pimIds: string[]; materials?: string[] };

/**
 * The summary's sheet fields for a table read from a workbook's sheet. Enough names are kept that
 * the other sheets, listed, still end in "…" when there are more than MAX_LISTED_SHEETS of them.
 */
export function sheetSummary(
  sheet: { name: string; names: string[] } | undefined,
): Pick<FileSummary, 'sheet' | 'sheets'> {
  return sheet ? { sheet: sheet.name, sheets: sheet.names.slice(0, MAX_LISTED_SHEETS + 2) } : {};
}

const fmt = (n: number) => n.toLocaleString('en-US');
const list = (sample: string[], total: number) => `${sample.join(', ')}${total > sample.length ? ', …' : ''}`;

/**
 * The summary in one line, e.g. "products.xlsx: 1,200 rows, column Artikelnummer, 1,187 match
 * products, 13 unknown: KL-9999, …" (plus duplicates and blank cells when there are any). A
 * workbook of several sheets names them: "products.xlsx (sheet Export; also: Lager, Archiv): …".
 */
export function describeFile(s: FileSummary): string {
  const others = (s.sheets ?? []).filter((n) => n !== s.sheet);
  const sheets = s.sheet && others.length > 0 ? ` (sheet ${s.sheet}; also: ${listSheets(others)})` : '';
  const parts = [
    `${s.name}${sheets}: ${fmt(s.rows)} row${s.rows === 1 ? '' : 's'}`,
    `column ${s.column}`,
    `${fmt(s.matched)} match products`,
  ];
  parts.push(s.unknown > 0 ? `${fmt(s.unknown)} unknown: ${list(s.unknownSample, s.unknown)}` : 'none unknown');
  if (s.duplicates > 0)
    parts.push(`${fmt(s.duplicates)} duplicate ids counted once: ${list(s.duplicateSample, s.duplicates)}`);
  if (s.blank > 0) parts.push(`${fmt(s.blank)} rows without an id`);
  if (s.materialColumn) {
    parts.push(
      `material column ${s.materialColumn} (${fmt(s.withMaterial ?? 0)} with a material${s.unknownMaterials?.length ? `; unknown materials: ${s.unknownMaterials.join(', ')}` : ''})`,
    );
  }
  return parts.join(', ');
}
