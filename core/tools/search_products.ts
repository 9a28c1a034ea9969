import { z } from 'zod';
import { defineTool } from './tool.ts';
import { quoted, stepLine } from '../replies/steps.ts';
import { countCap, describeFilter, searchProducts } from '../pipeline/products.ts';

const fmt = (n: number) => n.toLocaleString('en-US');

/** Searches the tenant's product catalogue by text, category and/or material, one page at a time. */
export const searchProductsTool = defineTool({
  name: 'search_products',
  kind: 'read',
  description:
    'Search the product catalogue. `query` matches words in the PIM id, product name or category, case-insensitive ' +
    '(every word must match, e.g. "6204 2rs"); `category` is an exact category name such as "Kugellager"; `material` an exact material name. ' +
    `Returns the exact number of matches (up to ${fmt(countCap)}), one page of up to \`limit\` products (ids and PIM ids) sorted by name, ` +
    'and next_cursor when more pages exist: pass it back with the same criteria to get the next page. ' +
    'To render or order ALL matching products, do not collect ids page by page: call create_order with product_filter (same criteria) instead.',
  parameters: z.object({
    query: z
      .string()
      .trim()
      .max(200)
      .optional()
      .describe(
        'Free text: words that must all occur in the PIM id, name or category, e.g. "Rillenkugellager 6204". Omit to list a whole category.',
      ),
    category: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('Exact category name, case-insensitive, e.g. "Kugellager" or "Dichtungen".'),
    material: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('Exact material name of the products, case-insensitive, e.g. "Steel-Bare".'),
    limit: z.number().int().min(1).max(200).default(25).describe('Products per page, 1..200 (default 25).'),
    cursor: z
      .string()
      .trim()
      .min(1)
      .max(1000)
      .optional()
      .describe('next_cursor of the previous page of this same search; omit for the first page.'),
  }),
  stepTitle: (args) => {
    const what = [args.category, args.material].filter(Boolean).join(' ');
    const query = args.query ? ` matching ${quoted(args.query)}` : '';
    return `Searching ${what ? `${stepLine(what, 60)} ` : ''}products${query}${args.cursor ? ' (next page)' : ''}…`;
  },
  async run(ctx, args) {
    const filter = { query: args.query, category: args.category, material: args.material };
    const r = await searchProducts(ctx.em, ctx.turn.tenantId, { ...filter, limit: args.limit, cursor: args.cursor });
    const count = r.total_exact ? fmt(r.total) : `More than ${fmt(countCap)}`;
    const what = describeFilter(filter);
    const truncated = r.next_cursor !== null || (args.cursor !== undefined && r.total > r.products.length);
    const page = args.cursor ? ' (next page)' : '';
    return {
      // next_cursor comes before the products: older tool results are cut after ~1,200 characters.
      data: {
        total: r.total,
        total_exact: r.total_exact,
        returned: r.products.length,
        next_cursor: r.next_cursor,
        truncated,
        ...(r.total_exact
          ? {}
          : { note: `More than ${countCap} products match; narrow the search or use product_filter in create_order.` }),
        products: r.products.map((p) => ({
          id: p.id,
          pim_id: p.pim_id,
          name: p.name,
          category: p.category,
          material: p.material_name,
        })),
      },
      blocks:
        r.total === 0
          ? [{ type: 'text', text: `No products ${what}.` }]
          : [
              {
                type: 'table',
                title: `${count} product${r.total === 1 ? '' : 's'} ${what}${page}`,
                columns: ['PIM ID', 'Name', 'Category', 'Material'],
                rows: r.products.map((p) => [p.pim_id, p.name, p.category, p.material_name ?? '—']),
                total: r.total,
                truncated,
              },
            ],
      outcome: `${count.toLowerCase()} found`,
      summary: `Found ${count.toLowerCase()} products ${what}${truncated ? `, showing ${r.products.length}${page}` : ''}`,
      effects: {
        found: { products: r.total },
        // An inexact count ("more than 100,000") is not a number to cite.
        ...(r.total_exact
          ? { cites: { counts: [{ count: r.total, what: `product${r.total === 1 ? '' : 's'} ${what}` }] } }
          : {}),
      },
    };
  },
});
