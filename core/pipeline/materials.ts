import { z } from 'zod';
import { rows } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { resolveOrder } from './lookup.ts';
import type { OrderStatus } from './statuses.ts';

/** Why a product of an order cannot be rendered with a known material. */
type MaterialProblemKind = 'missing_material' | 'unknown_material';

/** One product with a material problem. */
type MaterialProblem = {
  product_id: string;
  pim_id: string;
  name: string;
  problem: MaterialProblemKind;
  material: string | null;
};

/** How many of an order's products use an effective material. */
type MaterialUse = { material: string; known: boolean; products: number };

/** The result of checking an order's materials. */
export type MaterialCheck = {
  order_number: string;
  status: OrderStatus;
  /** The order's material override; when set it replaces every product's own material. */
  material_override: string | null;
  counts: { products: number; ok: number; missing: number; unknown: number };
  /** Effective materials with product counts, most used first. */
  materials: MaterialUse[];
  /** Products with problems, by PIM id; at most `maxProblems`, see `counts` for the totals. */
  problems: MaterialProblem[];
  /** Up to 30 material names of the tenant, to suggest a replacement when problems exist. */
  known_materials: string[];
};

/** Most problems listed in one check. */
const maxProblems = 50;

/** A row of `checkMaterials`'s query. */
const checkMaterialsRow = z.object({
  effective: z.string().nullable(),
  known_name: z.string().nullable(),
  products: z.coerce.number(),
});

/** A row of `checkMaterials`'s query. */
const checkMaterialsRow2 = z.object({
  product_id: z.string(),
  pim_id: z.string(),
  name: z.string(),
  effective: z.string().nullable(),
});

/** A row of `checkMaterials`'s query. */
const checkMaterialsRow3 = z.object({ name: z.string() });

/**
 * Checks every product of an order (by number or id, UserInputError 'order_not_found' otherwise)
 * for a usable material: the order's override when set, else the product's material_name, which
 * must name a material of the tenant (case-insensitive). Counted in SQL, so a 50,000-item order
 * costs one pass and only the first `maxProblems` problems (by PIM id) are read.
 */
export async function checkMaterials(em: EntityManager, tenantId: string, ref: string): Promise<MaterialCheck> {
  const order = await resolveOrder(em, tenantId, ref);
  // Each product's effective material: the override, else its own (blank = none).
  const items = `from order_item i
     join product p on p.id = i.product_id and p.tenant_id = i.tenant_id
     cross join lateral (select coalesce(?::text, nullif(trim(p.material_name), '')) as effective) x
     where i.tenant_id = ? and i.order_id = ?`;
  const params = [order.materialOverride, tenantId, order.id];
  // One pass groups the products by effective material; only the few groups are looked up in the library.
  const groups = await rows(
    em,
    checkMaterialsRow,
    `select g.effective, m.name as known_name, g.products
     from (select x.effective, count(*) as products ${items} group by x.effective) g
     left join material m on m.tenant_id = ? and lower(m.name) = lower(g.effective)`,
    [...params, tenantId],
  );
  let products = 0;
  let missing = 0;
  let unknown = 0;
  const uses = new Map<string, MaterialUse>();
  const unknownNames: string[] = [];
  for (const g of groups) {
    const n = g.products;
    products += n;
    if (g.effective === null) {
      missing += n;
      continue;
    }
    if (g.known_name === null) {
      unknown += n;
      unknownNames.push(g.effective);
    }
    const key = (g.known_name ?? g.effective).toLowerCase();
    const use = uses.get(key) ?? { material: g.known_name ?? g.effective, known: g.known_name !== null, products: 0 };
    use.products += n;
    uses.set(key, use);
  }
  const problems =
    missing + unknown === 0
      ? []
      : await rows(
          em,
          checkMaterialsRow2,
          `select p.id as product_id, p.pim_id, p.name, x.effective ${items}
       and (x.effective is null or x.effective in (select jsonb_array_elements_text(?::jsonb)))
     order by p.pim_id limit ?`,
          [...params, JSON.stringify(unknownNames), maxProblems],
        );
  const known =
    missing + unknown === 0
      ? []
      : (
          await rows(
            em,
            checkMaterialsRow3,
            `select name from material where tenant_id = ? order by lower(name) limit 30`,
            [tenantId],
          )
        ).map((m) => m.name);
  return {
    order_number: order.orderNumber,
    status: order.status,
    material_override: order.materialOverride,
    counts: { products, ok: products - missing - unknown, missing, unknown },
    materials: [...uses.values()].sort((a, b) => b.products - a.products || a.material.localeCompare(b.material)),
    problems: problems.map((p) => ({
      product_id: p.product_id,
      pim_id: p.pim_id,
      name: p.name,
      problem: p.effective === null ? ('missing_material' as const) : ('unknown_material' as const),
      material: p.effective,
    })),
    known_materials: known,
  };
}
