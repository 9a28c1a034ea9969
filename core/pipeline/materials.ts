import { query } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { resolveOrder } from './lookup.ts';
import type { OrderStatus } from './statuses.ts';

/** Why a product of an order cannot be rendered with a known material. */
export type MaterialProblemKind = 'missing_material' | 'unknown_material';

/** One product with a material problem. */
export type MaterialProblem = { product_id: string; pim_id: string; name: string; problem: MaterialProblemKind; material: string | null };

/** How many of an order's products use an effective material. */
export type MaterialUse = { material: string; known: boolean; products: number };

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
export const maxProblems = 50;

type Row = { product_id: string; pim_id: string; name: string; effective: string | null; known_name: string | null };

/**
 * Checks every product of an order (by number or id, UserInputError 'order_not_found' otherwise)
 * for a usable material: the order's override when set, else the product's material_name, which
 * must name a material of the tenant (case-insensitive).
 */
export async function checkMaterials(em: EntityManager, tenantId: string, ref: string): Promise<MaterialCheck> {
  const order = await resolveOrder(em, tenantId, ref);
  const rows = await query<Row>(em,
    `select p.id as product_id, p.pim_id, p.name, x.effective, m.name as known_name
     from order_item i
     join product p on p.id = i.product_id and p.tenant_id = i.tenant_id
     cross join lateral (select coalesce(?::text, nullif(trim(p.material_name), '')) as effective) x
     left join material m on m.tenant_id = i.tenant_id and lower(m.name) = lower(x.effective)
     where i.tenant_id = ? and i.order_id = ?
     order by p.pim_id`,
    [order.material_override, tenantId, order.id]);

  const problems: MaterialProblem[] = [];
  const uses = new Map<string, MaterialUse>();
  let missing = 0;
  let unknown = 0;
  for (const r of rows) {
    if (r.effective === null) {
      missing++;
      problems.push({ product_id: r.product_id, pim_id: r.pim_id, name: r.name, problem: 'missing_material', material: null });
      continue;
    }
    const key = (r.known_name ?? r.effective).toLowerCase();
    const use = uses.get(key) ?? { material: r.known_name ?? r.effective, known: r.known_name !== null, products: 0 };
    use.products++;
    uses.set(key, use);
    if (r.known_name === null) {
      unknown++;
      problems.push({ product_id: r.product_id, pim_id: r.pim_id, name: r.name, problem: 'unknown_material', material: r.effective });
    }
  }

  const known = problems.length === 0 ? [] : (await query<{ name: string }>(em,
    `select name from material where tenant_id = ? order by lower(name) limit 30`, [tenantId])).map((m) => m.name);
  return {
    order_number: order.order_number,
    status: order.status,
    material_override: order.material_override,
    counts: { products: rows.length, ok: rows.length - missing - unknown, missing, unknown },
    materials: [...uses.values()].sort((a, b) => b.products - a.products || a.material.localeCompare(b.material)),
    problems: problems.slice(0, maxProblems),
    known_materials: known,
  };
}
