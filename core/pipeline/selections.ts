import type { EntityManager } from '../db/orm.ts';
import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import { db } from '../db/kysely.ts';
import { sqlRow, sqlRows } from '../db/sql.ts';
import { UserInputError } from '../errors.ts';
import { assertCategoryExists, countProducts, describeFilter, productWhere, type ProductFilter } from './products.ts';

/*
 * Frozen product selections: "every product matching X" resolved once, when a confirmation is
 * prepared, into one `product_selection` row (its ids as a uuid[] written by INSERT … SELECT, so
 * 50,000 ids never travel through the application), then attached to the pending action. An
 * order created from it holds exactly those products.
 */

/** A selection frozen now: its id, how many products, the first 5 by name, and the filter in words. */
export type FrozenSelection = {
  selectionId: string;
  count: number;
  sample: { pimId: string; name: string }[];
  description: string;
};

/** Hours an unattached selection (prepared, but its confirmation was never stored) is kept. */
const looseHours = 1;

/** A row of `freezeSelection`'s query. */
const freezeSelectionRow = z.object({ id: z.string(), n: z.number() });

/** A row of `freezeSelection`'s query. */
const freezeSelectionRow2 = z.object({ pim_id: z.string(), name: z.string() });

/**
 * Freezes every product of `tenantId` matching `filter` (at most `max`, else 'too_many_products';
 * none → 'product_not_found', an unknown category listing the known ones).
 */
export async function freezeSelection(
  em: EntityManager,
  tenantId: string,
  filter: ProductFilter,
  max: number,
): Promise<FrozenSelection> {
  const w = productWhere(tenantId, filter);
  const description = describeFilter(filter);
  const [frozen, sample] = await Promise.all([
    sqlRow(
      em,
      freezeSelectionRow,
      sql`with m as (select array_agg(x.id) as ids from (select p.id from product p where ${w.sql} limit ${sql.lit(Math.trunc(max) + 1)}) x)
       insert into product_selection (tenant_id, ids) select ${tenantId}, m.ids from m where cardinality(m.ids) between 1 and ${max}
       returning id, cardinality(ids) as n`,
    ),
    sqlRows(
      em,
      freezeSelectionRow2,
      sql`select p.pim_id, p.name from product p where ${w.sql} order by p.name, p.pim_id limit 5`,
    ),
  ]);
  if (!frozen) {
    const total = await countProducts(em, tenantId, filter);
    if (total > max) {
      const count = total > max * 2 ? `More than ${(max * 2).toLocaleString('en-US')}` : total.toLocaleString('en-US');
      throw new UserInputError(
        'too_many_products',
        `${count} products are ${description}; an order can hold at most ${max.toLocaleString('en-US')}. Narrow the filter (category, material or query) and create several orders.`,
      );
    }
    if (filter.category?.trim()) await assertCategoryExists(em, tenantId, filter.category.trim());
    throw new UserInputError(
      'product_not_found',
      `No products are ${description}; nothing to order. Check the filter with search_products.`,
    );
  }
  return {
    selectionId: frozen.id,
    count: frozen.n,
    sample: sample.map((r) => ({ pimId: r.pim_id, name: r.name })),
    description,
  };
}

/**
 * Freezes the products of `tenantId` named by a list of PIM ids given as SQL (`list` selecting
 * columns `pim_id`, `n` (its order) and `material` (a material name or ''); e.g. an uploaded
 * file's ids), in list order, with one INSERT … SELECT. Named materials of the tenant
 * (case-insensitive) are frozen beside the ids; unknown names leave the product's own. Ids that
 * are no products are left out (the caller reports them); none left → 'product_not_found'.
 */
export async function freezePimIds(
  em: EntityManager,
  tenantId: string,
  list: RawBuilder<unknown>,
  description: string,
  max: number,
): Promise<FrozenSelection> {
  const [frozen, sample] = await Promise.all([
    sqlRow(
      em,
      freezeSelectionRow,
      sql`with m as (select array_agg(p.id order by x.n) as ids,
                         case when bool_or(mt.id is not null) then array_agg(mt.id order by x.n) end as material_ids
                    from (${list}) x join product p on p.tenant_id = ${tenantId} and p.pim_id = x.pim_id
                    left join material mt on mt.tenant_id = p.tenant_id and lower(mt.name) = lower(x.material))
       insert into product_selection (tenant_id, ids, material_ids) select ${tenantId}, m.ids, m.material_ids from m where cardinality(m.ids) between 1 and ${max}
       returning id, cardinality(ids) as n`,
    ),
    sqlRows(
      em,
      freezeSelectionRow2,
      sql`select p.pim_id, p.name from (${list}) x join product p on p.tenant_id = ${tenantId} and p.pim_id = x.pim_id order by x.n limit 5`,
    ),
  ]);
  if (!frozen)
    throw new UserInputError(
      'product_not_found',
      `None of the ids ${description} are products of this workspace; nothing to order.`,
    );
  return {
    selectionId: frozen.id,
    count: frozen.n,
    sample: sample.map((r) => ({ pimId: r.pim_id, name: r.name })),
    description,
  };
}

/**
 * SQL selecting the product ids of selection `selectionId` of `tenantId` as column `id`, with
 * their frozen material as `material_id` (null: the product's own) — only once it is attached to
 * a confirmation — for set-based inserts.
 */
export function selectionIds(tenantId: string, selectionId: string): RawBuilder<unknown> {
  // Multi-argument unnest pads a shorter (or null) array with nulls.
  return sql`select u.id, u.material_id from product_selection s, unnest(s.ids, s.material_ids) as u(id, material_id)
           where s.id = ${selectionId} and s.tenant_id = ${tenantId} and s.action_id is not null`;
}

/** How many products selection `selectionId` of `tenantId` froze (0 when it does not exist). */
export async function selectionSize(em: EntityManager, tenantId: string, selectionId: string): Promise<number> {
  const found = await db(em)
    .selectFrom('product_selection')
    .select(sql<number>`cardinality(ids)`.as('n'))
    .where('id', '=', selectionId)
    .where('tenant', '=', tenantId)
    .executeTakeFirst();
  return found?.n ?? 0;
}

/**
 * Attaches selections to the steps of the pending action whose preparation froze them (in the
 * action's transaction): each to its step's position in the plan, at most one per step (the
 * database refuses a second one).
 */
export async function attachSelections(
  em: EntityManager,
  tenantId: string,
  actionId: string,
  steps: { step: number; selectionId: string }[],
): Promise<void> {
  for (const s of steps) {
    await db(em)
      .updateTable('product_selection')
      .set({ action: actionId, step: s.step })
      .where('id', '=', s.selectionId)
      .where('tenant', '=', tenantId)
      .where('action', 'is', null)
      .execute();
  }
}

/** The selections of action `actionId`, by the position of the step that froze them in its plan. */
export async function selectionsOf(
  em: EntityManager,
  tenantId: string,
  actionId: string,
): Promise<Map<number, string>> {
  const found = await db(em)
    .selectFrom('product_selection')
    .select(['id', 'step'])
    .where('action', '=', actionId)
    .where('tenant', '=', tenantId)
    .execute();
  return new Map(found.flatMap((r) => (r.step === null ? [] : [[r.step, r.id] as const])));
}

/** Drops the selections of action `actionId` (it was decided and will never run again). */
export async function dropSelections(em: EntityManager, actionId: string): Promise<void> {
  await db(em).deleteFrom('product_selection').where('action', '=', actionId).execute();
}

/** Drops selections that can no longer be used: of decided or expired actions, or never attached within an hour. */
export async function dropStaleSelections(em: EntityManager): Promise<number> {
  // Unaliased: the ORM's Kysely plugin maps an aliased DELETE target's columns only in some positions.
  const dropped = await db(em)
    .deleteFrom('product_selection')
    .where((eb) =>
      eb.or([
        eb.and([
          eb('product_selection.action', 'is', null),
          eb('product_selection.createdAt', '<', sql<Date>`now() - make_interval(hours => ${looseHours})`),
        ]),
        eb.exists(
          eb
            .selectFrom('pending_action as a')
            .select('a.id')
            .whereRef('a.id', '=', 'product_selection.action')
            .where('a.status', 'not in', ['pending', 'executing']),
        ),
      ]),
    )
    .executeTakeFirst();
  return Number(dropped.numDeletedRows);
}
