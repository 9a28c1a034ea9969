import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { pgArray, rows } from '../db/sql.ts';
import { refused } from './limits.ts';
import type { Table } from './table.ts';

/** Header names of a product id column, compared lower-case without spaces or punctuation. */
const ID_HEADERS = new Set([
  'pimid',
  'pim',
  'pimnummer',
  'pimnumber',
  'artikelnummer',
  'artikelnr',
  'artnr',
  'artikel',
  'sku',
  'articlenumber',
  'articleno',
  'articleid',
  'productid',
  'produktid',
  'productnumber',
  'produktnummer',
  'itemnumber',
  'itemno',
  'partnumber',
  'teilenummer',
]);

/** Header names of a material column. */
const MATERIAL_HEADERS = new Set(['material', 'materialname', 'werkstoff', 'materialnamen']);

/** Values per column sampled when no header names the id column. */
const SAMPLE_PER_COLUMN = 500;
/** Columns tried by their values (a PIM export rarely puts ids further right). */
const MAX_COLUMNS_TRIED = 30;

const normalise = (header: string) => header.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

const hitsRow = z.object({ col: z.coerce.number(), n: z.coerce.number() });

/**
 * The column holding product ids: the first whose header names one (`pim_id`, `PIM-ID`,
 * `Artikelnummer`, `SKU`, `Article number`, … ignoring case and punctuation), else the one whose
 * first values match most of the tenant's PIM ids (one query for all columns). None → one sentence.
 */
export async function findIdColumn(em: EntityManager, tenantId: string, name: string, table: Table): Promise<number> {
  const byHeader = table.header.findIndex((h) => ID_HEADERS.has(normalise(h)));
  if (byHeader >= 0) return byHeader;
  const width = Math.min(MAX_COLUMNS_TRIED, table.header.length);
  const cols: number[] = [];
  const values: string[] = [];
  for (let c = 0; c < width; c++) {
    const seen = new Set<string>();
    for (const r of table.rows) {
      const v = r[c];
      if (v) seen.add(v);
      if (seen.size >= SAMPLE_PER_COLUMN) break;
    }
    for (const v of seen) {
      cols.push(c);
      values.push(v);
    }
  }
  const hits = await rows(
    em,
    hitsRow,
    `select x.col, count(p.id) as n
       from unnest(?::int[], ?::text[]) as x(col, v)
       join product p on p.tenant_id = ? and p.pim_id = x.v
      group by x.col order by n desc, x.col limit 1`,
    [`{${cols.join(',')}}`, pgArray(values), tenantId],
  );
  const best = hits[0];
  if (!best || best.n === 0) {
    throw refused(
      'no_id_column',
      `No column of ${name} holds this workspace's product ids; name the column "PIM-ID", "Artikelnummer" or "SKU" and send it again.`,
    );
  }
  return best.col;
}

/** The material column by its header (`Material`, `Werkstoff`, …), if there is one (never the id column). */
export function findMaterialColumn(table: Table, idColumn: number): number | undefined {
  const i = table.header.findIndex((h, c) => c !== idColumn && MATERIAL_HEADERS.has(normalise(h)));
  return i >= 0 ? i : undefined;
}
