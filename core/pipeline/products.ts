import { query, queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';

/** Search criteria; all text matching is case-insensitive. */
export type ProductSearch = {
  /** Words that must all occur in the product's PIM id, name or category (substring match). */
  query?: string;
  /** Exact category name, case-insensitive. */
  category?: string;
  limit: number;
  offset?: number;
};

/** A product as search results show it. */
export type ProductHit = { id: string; pim_id: string; name: string; category: string; material_name: string | null };

/**
 * One page of matches plus their number. Counting stops after `countCap` matches: beyond it
 * `total` is `countCap + 1` and `total_exact` is false ("more than 1,000").
 */
export type ProductSearchResult = { total: number; total_exact: boolean; products: ProductHit[] };

/** A category of the tenant's catalogue with its product count. */
export type CategoryCount = { category: string; products: number };

/** Matches counted exactly up to this many; an exact count of 20k trigram matches costs ~40 ms. */
export const countCap = 1000;
/** Rows of name order scanned for a broad text query before falling back to a full match set. */
const maxTerms = 8;
const columns = 'p.id, p.pim_id, p.name, p.category, p.material_name';

/** Escapes LIKE wildcards so user text matches literally (the default escape character is `\`). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Splits free text into lower-case search terms (at most 8). */
export function searchTerms(text: string | undefined): string[] {
  return (text ?? '').toLowerCase().split(/\s+/).filter((t) => t.length > 0).slice(0, maxTerms);
}

/**
 * Searches the tenant's products. Every word of `query` must occur in `search_text`
 * (lower(pim_id name category)), which the trigram index serves; `category` is an exact,
 * case-insensitive filter. Results are ordered by name, then PIM id. An unknown category is a
 * UserInputError listing the known ones; a query without matches is a real answer (total 0).
 */
export async function searchProducts(em: EntityManager, tenantId: string, search: ProductSearch): Promise<ProductSearchResult> {
  const scope = ['p.tenant_id = ?'];
  const scopeParams: unknown[] = [tenantId];
  const category = search.category?.trim();
  if (category) {
    scope.push('lower(p.category) = lower(?)');
    scopeParams.push(category);
  }
  const terms = searchTerms(search.query).map((t) => `%${escapeLike(t)}%`);
  const textFilter = terms.map(() => 'p.search_text like ?').join(' and ');
  const filter = [...scope, ...(textFilter ? [textFilter] : [])].join(' and ');
  const params = [...scopeParams, ...terms];
  const limit = Math.max(0, Math.trunc(search.limit));
  const offset = Math.max(0, Math.trunc(search.offset ?? 0));

  const count = async () => Number((await queryOne<{ n: string }>(em,
    `select count(*) as n from (select 1 from product p where ${filter} limit ${countCap + 1}) x`, params))?.n ?? 0);
  let total: number;
  let products: ProductHit[];
  if (terms.length === 0) {
    total = await count();
    // Name order straight from product_tenant_name_idx or product_tenant_category_idx.
    products = total === 0 || limit === 0 ? [] : await query<ProductHit>(em,
      `select ${columns} from product p where ${filter} order by p.name, p.pim_id limit ? offset ?`, [...params, limit, offset]);
  } else {
    // One trigram scan yields both the (capped) count and the page. The materialized CTE keeps
    // the planner from walking the name index with a text filter, which is fast only when
    // matches are spread evenly over the alphabet. Past countCap matches the page is sorted
    // among the first matches found; the tool then asks to narrow the search.
    // A plain (not bitmap) scan of the trigram GiST index stops once countCap + 1 matches are found.
    const rows = await em.transactional(async (tx) => {
      await tx.execute(`select set_config('enable_bitmapscan', 'off', true)`);
      return query<ProductHit & { n: string }>(tx,
        `with m as materialized (select ${columns} from product p where ${filter} limit ${countCap + 1})
         select m.*, count(*) over () as n from m order by name, pim_id limit ? offset ?`, [...params, Math.max(limit, 1), offset]);
    });
    total = rows.length ? Number(rows[0]!.n) : offset === 0 ? 0 : await count();
    products = limit === 0 ? [] : rows.map(({ n: _n, ...hit }) => hit);
  }
  if (total === 0 && category) await assertCategoryExists(em, tenantId, category);
  const exact = total <= countCap;
  return { total, total_exact: exact, products };
}

/** The tenant's categories with product counts, by name. */
export async function listCategories(em: EntityManager, tenantId: string): Promise<CategoryCount[]> {
  const rows = await query<{ category: string; products: string }>(em,
    `select min(category) as category, count(*) as products from product
     where tenant_id = ? group by lower(category) order by lower(category)`,
    [tenantId]);
  return rows.map((r) => ({ category: r.category, products: Number(r.products) }));
}

async function assertCategoryExists(em: EntityManager, tenantId: string, category: string): Promise<void> {
  const found = await queryOne<{ one: number }>(em,
    `select 1 as one from product where tenant_id = ? and lower(category) = lower(?) limit 1`, [tenantId, category]);
  if (found) return;
  const known = (await listCategories(em, tenantId)).map((c) => c.category);
  const hint = known.length > 0 ? ` Known categories: ${known.slice(0, 30).join(', ')}.` : ' The catalogue has no products yet.';
  throw new UserInputError('category_not_found', `No category "${category}" was found.${hint}`);
}
