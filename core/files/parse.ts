import type { EntityManager } from '../db/orm.ts';
import { findIdColumn, findMaterialColumn } from './columns.ts';
import { readCsv } from './csv.ts';
import { MAX_FILE_BYTES, maxFileWords, refused } from './limits.ts';
import { matchPimIds, UNKNOWN_SAMPLE, unknownMaterials } from './match.ts';
import { sniffFile } from './sniff.ts';
import { sheetSummary, type ParsedFile } from './summary.ts';
import { readXlsx } from './xlsx.ts';

/**
 * Parses an uploaded file of tenant `tenantId` (type from its bytes, then CSV or XLSX: its first
 * sheet, or the one named `sheet`), finds the id column and matches its distinct ids against the
 * tenant's products. Every refusal is a UserInputError with one sentence naming the problem;
 * nothing is written.
 */
export async function parseUpload(
  em: EntityManager,
  tenantId: string,
  name: string,
  bytes: Uint8Array,
  sheet?: string,
): Promise<ParsedFile> {
  if (bytes.byteLength > MAX_FILE_BYTES)
    throw refused(
      'too_large',
      `${name} is larger than ${maxFileWords}; split it or leave out columns other than the ids.`,
    );
  const kind = sniffFile(name, bytes);
  if (kind === 'csv' && sheet !== undefined)
    throw refused('no_sheet', `${name} is a CSV file, which has no sheets; it is read whole.`);
  const table = kind === 'xlsx' ? readXlsx(name, bytes, sheet) : readCsv(name, bytes);
  const col = await findIdColumn(em, tenantId, name, table);
  const matCol = findMaterialColumn(table, col);
  // Each distinct id's material: the first non-empty one named for it.
  const materialOf = new Map<string, string>();
  const seen = new Set<string>();
  const duplicateSet = new Set<string>();
  let duplicates = 0;
  let blank = 0;
  for (const r of table.rows) {
    const id = r[col] ?? '';
    if (!id) {
      blank++;
      continue;
    }
    if (seen.has(id)) {
      duplicates++;
      duplicateSet.add(id);
    } else seen.add(id);
    const material = matCol === undefined ? '' : (r[matCol] ?? '');
    if (material && !materialOf.has(id)) materialOf.set(id, material);
  }
  const pimIds = [...seen];
  if (pimIds.length === 0) throw refused('empty', `The column ${table.header[col]} of ${name} is empty.`);
  const m = await matchPimIds(em, tenantId, pimIds);
  const materials = matCol === undefined ? undefined : pimIds.map((id) => materialOf.get(id) ?? '');
  const materialSummary = materials
    ? {
        materialColumn: table.header[matCol!] || `column ${matCol! + 1}`,
        withMaterial: materialOf.size,
        unknownMaterials: await unknownMaterials(em, tenantId, [...new Set(materialOf.values())]),
      }
    : {};
  return {
    pimIds,
    ...(materials ? { materials } : {}),
    summary: {
      name,
      kind,
      rows: table.rows.length,
      column: table.header[col] || `column ${col + 1}`,
      ids: pimIds.length,
      matched: m.matched,
      unknown: m.unknown,
      unknownSample: m.unknownSample,
      duplicates,
      duplicateSample: [...duplicateSet].slice(0, UNKNOWN_SAMPLE),
      blank,
      ...materialSummary,
      ...sheetSummary(table.sheet),
    },
  };
}
