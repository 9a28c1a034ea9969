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

/** One page of matches plus the number of all matches. */
export type ProductSearchResult = { total: number; products: ProductHit[] };

/** A category of the tenant's catalogue with its product count. */
export type CategoryCount = { category: string; products: number };

const maxTerms = 8;

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
  const where = ['p.tenant_id = ?'];
  const params: unknown[] = [tenantId];
  for (const term of searchTerms(search.query)) {
    where.push(`p.search_text like ?`);
    params.push(`%${escapeLike(term)}%`);
  }
  const category = search.category?.trim();
  if (category) {
    where.push('lower(p.category) = lower(?)');
    params.push(category);
  }
  const filter = where.join(' and ');
  const limit = Math.max(0, Math.trunc(search.limit));
  const offset = Math.max(0, Math.trunc(search.offset ?? 0));

  // A separate count beats count(*) over (): the page can stop after `limit` rows in name order,
  // while the count reads only what the filter's index needs (see the benchmark in the report).
  const [rows, counted] = await Promise.all([
    limit === 0 ? Promise.resolve([]) : query<ProductHit>(em,
      `select p.id, p.pim_id, p.name, p.category, p.material_name from product p
       where ${filter} order by p.name, p.pim_id limit ? offset ?`,
      [...params, limit, offset]),
    queryOne<{ total: string }>(em, `select count(*) as total from product p where ${filter}`, params),
  ]);
  const total = Number(counted?.total ?? 0);
  if (total === 0 && category) await assertCategoryExists(em, tenantId, category);
  return { total, products: rows };
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
