import { createHash } from 'node:crypto';
import { z } from 'zod';
import { sql, type RawBuilder } from 'kysely';
import { countRow, row, rows, sqlRow, sqlRows } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';

/** Which products: every given criterion must hold; all text matching is case-insensitive. */
export type ProductFilter = {
  /** Words that must all occur in the product's PIM id, name or category (substring match). */
  query?: string;
  /** Exact category name, case-insensitive. */
  category?: string;
  /** Exact material name of the product (its own, not an order's override), case-insensitive. */
  material?: string;
};

/** Search criteria: a filter plus one page of results. */
export type ProductSearch = ProductFilter & {
  limit: number;
  /** `next_cursor` of the previous page of the same search; absent for the first page. */
  cursor?: string;
};

/** A product as search results show it. */
const productHitRow = z.object({
  id: z.string(),
  pim_id: z.string(),
  name: z.string(),
  category: z.string(),
  material_name: z.string().nullable(),
});
type ProductHit = z.infer<typeof productHitRow>;

/**
 * One page of matches plus their number. Counting stops after `countCap` matches: beyond it
 * `total` is `countCap + 1` and `total_exact` is false. `next_cursor` fetches the next page in
 * the same order (name, then PIM id); null on the last page.
 */
export type ProductSearchResult = {
  total: number;
  total_exact: boolean;
  products: ProductHit[];
  next_cursor: string | null;
};

/** A category of the tenant's catalogue with its product count. */
type CategoryCount = { category: string; products: number };

/** Matches counted exactly up to this many. */
export const countCap = 100_000;
/** Up to this many text matches are collected and sorted; beyond, the name index is walked. */
const collectAll = 5_000;
/** Most words of a text query that are matched. */
const maxTerms = 8;
const columns = sql.raw('p.id, p.pim_id, p.name, p.category, p.material_name');

/** Escapes LIKE wildcards so user text matches literally (the default escape character is `\`). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Splits free text into lower-case search terms (at most 8). */
function searchTerms(text: string | undefined): string[] {
  return (text ?? '')
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t.length > 0)
    .slice(0, maxTerms);
}

/** The filter as an SQL condition over `product p` (its values bound in place), and whether it has text terms. */
export function productWhere(tenantId: string, filter: ProductFilter): { sql: RawBuilder<unknown>; text: boolean } {
  const where = [sql`p.tenant_id = ${tenantId}`];
  const category = filter.category?.trim();
  if (category) where.push(sql`lower(p.category) = lower(${category})`);
  const material = filter.material?.trim();
  if (material) where.push(sql`lower(p.material_name) = lower(${material})`);
  const terms = searchTerms(filter.query).map((t) => `%${escapeLike(t)}%`);
  for (const t of terms) where.push(sql`p.search_text like ${t}`);
  return { sql: sql.join(where, sql` and `), text: terms.length > 0 };
}

/** The filter in words for people, e.g. `in category Kugellager with material Steel-Bare matching "6204"`. */
export function describeFilter(filter: ProductFilter): string {
  const parts = [
    filter.category?.trim() ? `in category ${filter.category.trim()}` : null,
    filter.material?.trim() ? `with material ${filter.material.trim()}` : null,
    filter.query?.trim() ? `matching "${filter.query.trim()}"` : null,
  ].filter(Boolean);
  return parts.length ? parts.join(' ') : 'in the catalogue';
}

/** Counts the filter's matches, up to `cap` + 1. */
export async function countProducts(
  em: EntityManager,
  tenantId: string,
  filter: ProductFilter,
  cap = countCap,
): Promise<number> {
  const w = productWhere(tenantId, filter);
  return (
    (
      await sqlRow(
        em,
        countRow,
        sql`select count(*) as n from (select 1 from product p where ${w.sql} limit ${sql.lit(Math.trunc(cap) + 1)}) x`,
      )
    )?.n ?? 0
  );
}

/**
 * Searches the tenant's products, one page at a time. Every word of `query` must occur in
 * `search_text` (lower(pim_id name category)), which the trigram index serves; `category` and
 * `material` are exact, case-insensitive filters. Pages are ordered by name, then PIM id, and
 * continue after the previous page's last product (keyset), so no product is skipped or repeated.
 * An unknown category is a UserInputError listing the known ones; no matches is a real answer.
 */
export async function searchProducts(
  em: EntityManager,
  tenantId: string,
  search: ProductSearch,
): Promise<ProductSearchResult> {
  const w = productWhere(tenantId, search);
  const after = search.cursor ? decodeCursor(search.cursor, search) : undefined;
  const limit = Math.max(0, Math.trunc(search.limit));
  const total = await countProducts(em, tenantId, search);
  if (total === 0) {
    if (search.category?.trim()) await assertCategoryExists(em, tenantId, search.category.trim());
    return { total, total_exact: true, products: [], next_cursor: null };
  }
  const keyset = after ? sql` and (p.name, p.pim_id) > (${after.name}, ${after.pimId})` : sql``;
  // Few text matches: collect them all (trigram index) and sort. Many: walk the name index,
  // where matches are dense enough that the page fills quickly.
  const hits =
    limit === 0
      ? []
      : w.text && total <= collectAll
        ? await sqlRows(
            em,
            productHitRow,
            sql`with m as materialized (select ${columns} from product p where ${w.sql})
       select * from m p where true${keyset} order by p.name, p.pim_id limit ${limit + 1}`,
          )
        : await sqlRows(
            em,
            productHitRow,
            sql`select ${columns} from product p where ${w.sql}${keyset} order by p.name, p.pim_id limit ${limit + 1}`,
          );
  const products = hits.slice(0, limit);
  const last = products.at(-1);
  return {
    total,
    total_exact: total <= countCap,
    products,
    next_cursor: hits.length > limit && last ? encodeCursor({ name: last.name, pimId: last.pim_id }, search) : null,
  };
}

type CursorKey = { name: string; pimId: string };

/** A short fingerprint of the criteria, so a cursor only continues the search it came from. */
function fingerprint(filter: ProductFilter): string {
  const norm = [
    filter.query ? searchTerms(filter.query).join(' ') : '',
    filter.category?.trim().toLowerCase() ?? '',
    filter.material?.trim().toLowerCase() ?? '',
  ];
  return createHash('sha256').update(JSON.stringify(norm)).digest('base64url').slice(0, 8);
}

function encodeCursor(key: CursorKey, filter: ProductFilter): string {
  return Buffer.from(JSON.stringify([key.name, key.pimId, fingerprint(filter)])).toString('base64url');
}

function decodeCursor(cursor: string, filter: ProductFilter): CursorKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((x) => typeof x === 'string')) {
    throw new UserInputError(
      'invalid_cursor',
      'That cursor is not valid. Use next_cursor exactly as the previous search_products result gave it, or search again without a cursor.',
    );
  }
  if (parsed[2] !== fingerprint(filter)) {
    throw new UserInputError(
      'invalid_cursor',
      'That cursor belongs to a search with other criteria. Repeat the same query, category and material with it, or search again without a cursor.',
    );
  }
  return { name: parsed[0] as string, pimId: parsed[1] as string };
}

/** A row of `listCategories`'s query. */
const listCategoriesRow = z.object({ category: z.string(), products: z.coerce.number() });

/** The tenant's categories with product counts, by name. */
async function listCategories(em: EntityManager, tenantId: string): Promise<CategoryCount[]> {
  const counted = await rows(
    em,
    listCategoriesRow,
    `select min(category) as category, count(*) as products from product
     where tenant_id = ? group by lower(category) order by lower(category)`,
    [tenantId],
  );
  return counted;
}

/** A row of `assertCategoryExists`'s query. */
const assertCategoryExistsRow = z.object({ one: z.number() });

/** Throws 'category_not_found' listing the known categories when `category` names none of the tenant's. */
export async function assertCategoryExists(em: EntityManager, tenantId: string, category: string): Promise<void> {
  const found = await row(
    em,
    assertCategoryExistsRow,
    `select 1 as one from product where tenant_id = ? and lower(category) = lower(?) limit 1`,
    [tenantId, category],
  );
  if (found) return;
  const known = (await listCategories(em, tenantId)).map((c) => c.category);
  const hint =
    known.length > 0 ? ` Known categories: ${known.slice(0, 30).join(', ')}.` : ' The catalogue has no products yet.';
  throw new UserInputError('category_not_found', `No category "${category}" was found.${hint}`);
}
