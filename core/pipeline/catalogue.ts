import { sql } from 'kysely';
import { z } from 'zod';
import { db } from '../db/kysely.ts';
import { rows } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';

export type ProductInput = {
  pimId: string;
  name: string;
  category: string;
  materialName?: string | null;
  attributes?: Record<string, unknown>;
};
export type OutputTypeInput = { name: string; format: 'webp' | 'png' | 'jpeg'; width: number; height: number };

/** A row of `upsertProducts`'s query. */
const upsertProductsRow = z.object({ n: z.number() });

/** Inserts or updates products by (tenant, pim_id) in one statement; returns how many were written. */
export async function upsertProducts(em: EntityManager, tenantId: string, products: ProductInput[]): Promise<number> {
  let written = 0;
  for (let i = 0; i < products.length; i += 1000) {
    const chunk = products.slice(i, i + 1000);
    const upserted = await rows(
      em,
      upsertProductsRow,
      `insert into product (tenant_id, pim_id, name, category, material_name, attributes)
       select ?, x.pim_id, x.name, x.category, x.material_name, coalesce(x.attributes, '{}'::jsonb)
       from jsonb_to_recordset(?::jsonb) as x(pim_id text, name text, category text, material_name text, attributes jsonb)
       on conflict (tenant_id, pim_id) do update set name = excluded.name, category = excluded.category,
         material_name = coalesce(excluded.material_name, product.material_name), updated_at = now()
       returning 1 as n`,
      [
        tenantId,
        JSON.stringify(
          chunk.map((p) => ({
            pim_id: p.pimId,
            name: p.name,
            category: p.category,
            material_name: p.materialName ?? null,
            attributes: p.attributes ?? null,
          })),
        ),
      ],
    );
    written += upserted.length;
  }
  return written;
}

/** Creates a material unless one with the same name (case-insensitive) exists; returns its id. */
export async function ensureMaterial(
  em: EntityManager,
  tenantId: string,
  name: string,
  description?: string,
): Promise<string> {
  const existing = await db(em)
    .selectFrom('material')
    .select('id')
    .where('tenant', '=', tenantId)
    .where(sql<string>`lower(name)`, '=', sql<string>`lower(${name})`)
    .executeTakeFirst();
  if (existing) return existing.id;
  const row = await db(em)
    .insertInto('material')
    .values({ tenant: tenantId, name, description: description ?? null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Creates an output type unless one with the same name exists; returns its id. */
export async function ensureOutputType(em: EntityManager, tenantId: string, o: OutputTypeInput): Promise<string> {
  const existing = await db(em)
    .selectFrom('output_type')
    .select('id')
    .where('tenant', '=', tenantId)
    .where(sql<string>`lower(name)`, '=', sql<string>`lower(${o.name})`)
    .executeTakeFirst();
  if (existing) return existing.id;
  const row = await db(em)
    .insertInto('output_type')
    .values({ tenant: tenantId, name: o.name, format: o.format, width: o.width, height: o.height })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
