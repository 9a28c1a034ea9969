import { sql } from 'kysely';
import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { pgArray, row, sqlRow } from '../db/sql.ts';
import { filePimIds } from './store.ts';

/** How many of a list's PIM ids are products of the tenant, and the first unknown ones (in list order). */
export type MatchResult = { matched: number; unknown: number; unknownSample: string[] };

/** Unknown ids a summary names. */
export const UNKNOWN_SAMPLE = 10;

const matchRow = z.object({
  matched: z.coerce.number(),
  unknown: z.coerce.number(),
  sample: z.array(z.string()).nullable(),
});

/**
 * Matches distinct PIM ids against the tenant's products in one set-based statement (the list
 * is one array parameter, unnested and joined to `product` by its (tenant, pim_id) key).
 */
export async function matchPimIds(
  em: EntityManager,
  tenantId: string,
  pimIds: readonly string[],
): Promise<MatchResult> {
  const r = await row(
    em,
    matchRow,
    `select count(p.id) as matched, count(*) filter (where p.id is null) as unknown,
            (array_agg(x.v order by x.n) filter (where p.id is null))[1:${UNKNOWN_SAMPLE}] as sample
       from unnest(?::text[]) with ordinality as x(v, n)
       left join product p on p.tenant_id = ? and p.pim_id = x.v`,
    [pgArray(pimIds), tenantId],
  );
  return { matched: r?.matched ?? 0, unknown: r?.unknown ?? 0, unknownSample: r?.sample ?? [] };
}

const unknownRow = z.object({ n: z.coerce.number(), sample: z.array(z.string()).nullable() });

/** How many ids of file `fileId` of `tenantId` are no products of the tenant now, and the first ones (file order). */
export async function unknownFileIds(
  em: EntityManager,
  tenantId: string,
  fileId: string,
): Promise<{ count: number; sample: string[] }> {
  const list = filePimIds(tenantId, fileId);
  const r = await sqlRow(
    em,
    unknownRow,
    sql`select count(*) as n, (array_agg(x.pim_id order by x.n))[1:${sql.lit(UNKNOWN_SAMPLE)}] as sample
       from (${list}) x where not exists (select 1 from product p where p.tenant_id = ${tenantId} and p.pim_id = x.pim_id)`,
  );
  return { count: r?.n ?? 0, sample: r?.sample ?? [] };
}

const namesRow = z.object({ names: z.array(z.string()).nullable() });

/** The distinct names of `names` (non-empty) that are no material of the tenant (case-insensitive), at most UNKNOWN_SAMPLE. */
export async function unknownMaterials(
  em: EntityManager,
  tenantId: string,
  names: readonly string[],
): Promise<string[]> {
  const r = await row(
    em,
    namesRow,
    `select (array_agg(distinct v order by v))[1:${UNKNOWN_SAMPLE}] as names from unnest(?::text[]) as v
      where v <> '' and not exists (select 1 from material m where m.tenant_id = ? and lower(m.name) = lower(v))`,
    [pgArray(names), tenantId],
  );
  return r?.names ?? [];
}
