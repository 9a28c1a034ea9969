import { z } from 'zod';
import { defineTool } from './tool.ts';
import { countCap, searchProducts } from '../pipeline/products.ts';

/** Searches the tenant's product catalogue by text and/or category. */
export const searchProductsTool = defineTool({
  name: 'search_products',
  kind: 'read',
  description:
    'Search the product catalogue. `query` matches words in the PIM id, product name or category, case-insensitive ' +
    '(every word must match, e.g. "6204 2rs"); `category` is an exact category name such as "Kugellager". ' +
    'Returns the number of matches (counted exactly up to 1000; total_exact false means more) and up to `limit` products with their ids and PIM ids, which create_order accepts. ' +
    'When total exceeds the returned count, say so and narrow the search or raise the limit instead of guessing.',
  parameters: z.object({
    query: z.string().trim().max(200).optional()
      .describe('Free text: words that must all occur in the PIM id, name or category, e.g. "Rillenkugellager 6204". Omit to list a whole category.'),
    category: z.string().trim().min(1).max(100).optional()
      .describe('Exact category name, case-insensitive, e.g. "Kugellager" or "Dichtungen".'),
    limit: z.number().int().min(1).max(200).default(25).describe('Maximum products to return, 1..200 (default 25).'),
  }),
  async run(ctx, args) {
    const { total, total_exact: exact, products } = await searchProducts(ctx.em, ctx.turn.tenantId, {
      query: args.query, category: args.category, limit: args.limit,
    });
    const count = exact ? String(total) : `More than ${countCap.toLocaleString('en-US')}`;
    const criteria = [args.query ? `"${args.query}"` : null, args.category ? `category ${args.category}` : null].filter(Boolean).join(', ');
    const what = criteria ? `matching ${criteria}` : 'in the catalogue';
    const truncated = total > products.length;
    return {
      data: {
        total,
        total_exact: exact,
        ...(exact ? {} : { note: `More than ${countCap} products match; only the first ${products.length} by name are returned. Narrow the search.` }),
        returned: products.length,
        truncated,
        products: products.map((p) => ({ id: p.id, pim_id: p.pim_id, name: p.name, category: p.category, material: p.material_name })),
      },
      blocks: total === 0
        ? [{ type: 'text', text: `No products ${what}.` }]
        : [{
          type: 'table',
          title: `${count} product${total === 1 ? '' : 's'} ${what}`,
          columns: ['PIM ID', 'Name', 'Category', 'Material'],
          rows: products.map((p) => [p.pim_id, p.name, p.category, p.material_name ?? '—']),
          total,
          truncated,
        }],
      summary: `Found ${count.toLowerCase()} products ${what}${truncated ? `, showing ${products.length}` : ''}`,
    };
  },
});
