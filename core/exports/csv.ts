import type { EntityManager } from '../db/orm.ts';
import { resultLink } from '../renders/results.ts';
import type { RenderLinks } from '../renders/signing.ts';
import { exportItems, type ExportItem } from './items.ts';
import { writeTo, type ByteSink } from './sink.ts';

/** The columns of a results CSV, in order. */
export const resultsCsvColumns = ['PIM ID', 'Name', 'Material', 'Status', 'Result URL', 'Error'] as const;

// A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV Injection").
const formulaStart = /^[=+\-@\t\r]/;

/** A cell that a spreadsheet shows as text: formula starts get a leading single quote; then quoted RFC 4180-style. */
function csvCell(value: string): string {
  const text = formulaStart.test(value) ? `'${value}` : value;
  return `"${text.replaceAll('"', '""')}"`;
}

/** One CSV line (CRLF-terminated) of `cells`. */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** The CSV line of one exported item; local results get a fresh signed link. */
export function resultsCsvLine(item: ExportItem, links: RenderLinks | undefined, now: Date): string {
  const completed = item.status === 'completed' && item.job_id;
  return csvLine([
    item.pim_id,
    item.name,
    item.material ?? '',
    item.status ?? 'not_dispatched',
    (completed ? resultLink(item.result_url, item.job_id!, links, now) : null) ?? '',
    item.status === 'failed' ? (item.error ?? '') : '',
  ]);
}

/**
 * Writes the results of order `orderId` of `tenantId` as CSV (UTF-8 with BOM, so spreadsheet
 * programs read umlauts right) to `out`, batch by batch, waiting for the sink to drain.
 * Returns the number of items written.
 */
export async function writeResultsCsv(
  em: EntityManager,
  tenantId: string,
  orderId: string,
  links: RenderLinks | undefined,
  now: Date,
  out: ByteSink,
): Promise<number> {
  await writeTo(out, `\uFEFF${csvLine(resultsCsvColumns)}`);
  let n = 0;
  for await (const batch of exportItems(em, tenantId, orderId)) {
    await writeTo(out, batch.map((i) => resultsCsvLine(i, links, now)).join(''));
    n += batch.length;
  }
  return n;
}
