import { z } from 'zod';
import {
  createOrder,
  maxOrderProducts,
  planCreateOrder,
  type CreateOrderPlan,
  type ProductSource,
} from '../pipeline/orders.ts';
import { describeOverrides, renderOverridesSchema } from '../pipeline/overrides.ts';
import { UserInputError } from '../errors.ts';
import { defineTool, type PlanStep } from './tool.ts';
import { ellipsize } from '../replies/format.ts';
import { findFile, filePimIds } from '../files/store.ts';
import { unknownFileIds } from '../files/match.ts';

const productFilter = z.object({
  category: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe('Exact category name, case-insensitive, e.g. "Kugellager"'),
  query: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe('Words that must all occur in the PIM id, name or category, as in search_products'),
  material: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe('Exact material name of the products, e.g. "Steel-Bare"'),
});

const parameters = z
  .object({
    product_ids: z
      .array(z.string().min(1))
      .min(1)
      .max(maxOrderProducts)
      .optional()
      .describe(
        'Specific products: ids or PIM ids from search_products, every one must exist. For "all …" requests use product_filter instead. Give exactly one of product_ids, product_filter, product_file',
      ),
    product_filter: productFilter
      .optional()
      .describe(
        'Every product matching ALL given criteria (same meaning as in search_products), e.g. {"category":"Kugellager"} for "all Kugellager products". ' +
          `Resolved and counted when the confirmation is shown; at most ${maxOrderProducts.toLocaleString('en-US')} products`,
      ),
    product_file: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe(
        'The file id of a spreadsheet the user attached (from the conversation note about it): every product whose PIM id is in its id column. ' +
          'Resolved and counted when the confirmation is shown; ids that are no products are listed there and left out',
      ),
    output_type_name: z.string().min(1).describe('Name of one of the tenant\'s output types, e.g. "WebP 1024x1024"'),
    render_overrides: renderOverridesSchema
      .optional()
      .describe('Optional render settings for this order (size, background, camera angle, quality, shadow, padding)'),
    material_override: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Material applied to every product, e.g. "Steel-Bare"; omit (or "none") to use each product\'s own material',
      ),
    submit: z
      .boolean()
      .default(true)
      .describe(
        'Create & submit (default true): dispatches one render job per product immediately. false saves a draft for dispatch_renders',
      ),
  })
  .refine((a) => [a.product_ids, a.product_filter, a.product_file].filter((x) => x !== undefined).length === 1, {
    message:
      'Give exactly one of product_ids (specific products), product_filter (every product matching) or product_file (the products of an attached file).',
  });

type Args = z.infer<typeof parameters>;

function planInput(args: Args, tenantId: string, opts: { selectionId?: string; fileName?: string } = {}) {
  const products: ProductSource = opts.selectionId
    ? { selectionId: opts.selectionId }
    : args.product_filter
      ? { filter: args.product_filter }
      : args.product_file
        ? { list: filePimIds(tenantId, args.product_file), description: `from ${opts.fileName ?? 'the file'}` }
        : { refs: args.product_ids ?? [] };
  return {
    products,
    outputTypeName: args.output_type_name,
    materialOverride: args.material_override ?? null,
    renderOverrides: args.render_overrides ?? {},
    submit: args.submit,
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, word: string) => `${fmt(n)} ${word}${n === 1 ? '' : 's'}`;

/**
 * The confirmation preview of a create_order plan: a title with the count (and the selection in
 * words), one line per setting, and a sample of up to 5 products — short at any order size.
 */
export function describeCreateOrder(plan: CreateOrderPlan): PlanStep {
  const count = plan.products.count;
  const selection = plan.products.selection?.description;
  const what = `${plural(count, 'product')}${selection ? ` ${selection}` : ''}`;
  const ot = plan.outputType;
  return {
    title: plan.submit ? `Create order for ${what} and start rendering` : `Create draft order for ${what}`,
    details: [
      selection
        ? `Products: all ${fmt(count)} ${selection} as of this preview (products added later are not included)`
        : `Products: ${fmt(count)}`,
      `Output type: ${ot.name} (${ot.format.toUpperCase()}, ${ot.width}×${ot.height} px)`,
      `Material: ${plan.material ? `${plan.material.name} (override for all products)` : 'product materials'}`,
      `Render overrides: ${describeOverrides(plan.renderOverrides)}`,
      plan.submit
        ? `Submit: yes — ${plural(count, 'render job')} will be queued`
        : 'Submit: no — saved as a draft; start it later with dispatch_renders',
      'Order number: assigned on confirmation',
    ],
    sample: {
      columns: ['PIM ID', 'Product'],
      rows: plan.products.sample.map((p) => [p.pimId, ellipsize(p.name, 80)]),
      total: count,
    },
  };
}

/** Creates a render order for products of the tenant and, by default, starts rendering it. */
export const createOrderTool = defineTool({
  name: 'create_order',
  kind: 'write',
  description:
    'Create a render order with an output type, optionally a material override and render overrides, for either ' +
    'specific products (product_ids from search_products), every product matching a filter (product_filter: category, query, material — ' +
    'use this for "all …" requests; the confirmation shows the exact count), or the products listed in a file the user attached (product_file: its file id). By default the order is submitted at once: one render job per ' +
    "product is queued. Needs the user's confirmation before it runs.",
  parameters,
  stepTitle: () => 'Preparing the order…',
  async prepare(ctx, args) {
    const file = args.product_file ? await findFile(ctx.em, ctx.turn.tenantId, args.product_file) : undefined;
    const plan = await planCreateOrder(
      ctx.em,
      ctx.turn.tenantId,
      planInput(args, ctx.turn.tenantId, file ? { fileName: file.name } : {}),
    );
    // A filter's or file's products are frozen now: confirming orders exactly what the preview counted.
    const selectionId = plan.products.selection?.selectionId;
    const step = describeCreateOrder(plan);
    if (file && args.product_file) {
      const unknown = await unknownFileIds(ctx.em, ctx.turn.tenantId, args.product_file);
      if (unknown.count > 0) {
        const ids = `${plural(unknown.count, 'id')} not found: ${unknown.sample.join(', ')}${unknown.count > unknown.sample.length ? ', …' : ''}`;
        step.title = step.title.replace(` from ${file.name}`, ` from ${file.name} (${ids})`);
        step.details = [...(step.details ?? []), `Not found (left out): ${ids}`];
      }
      const mat = file.summary;
      if (mat.materialColumn) {
        const unknown = mat.unknownMaterials?.length
          ? `; unknown names, left as the product's own material: ${mat.unknownMaterials.join(', ')}`
          : '';
        step.details = step.details.map((d) =>
          d.startsWith('Material: product materials')
            ? `Material: per product from column ${mat.materialColumn} (${fmt(mat.withMaterial ?? 0)} ids name one${unknown}); else the product's own`
            : d,
        );
      }
      if (file.summary.duplicates > 0)
        step.details = [
          ...(step.details ?? []),
          `Duplicates in the file, counted once: ${fmt(file.summary.duplicates)}`,
        ];
    }
    return { ...step, ...(selectionId ? { frozen: { selectionId } } : {}) };
  },
  async run(ctx, args) {
    const frozenSource = args.product_filter !== undefined || args.product_file !== undefined;
    if (frozenSource && !ctx.frozen) {
      throw new UserInputError(
        'selection_missing',
        'This confirmation has no frozen product selection; ask again to get a new confirmation.',
      );
    }
    const created = await createOrder(ctx.em, ctx.turn.tenantId, {
      ...planInput(args, ctx.turn.tenantId, frozenSource ? { selectionId: ctx.frozen!.selectionId } : {}),
      createdBy: ctx.turn.userId,
      now: ctx.now(),
    });
    const missing =
      created.missingProducts > 0
        ? ` (${plural(created.missingProducts, 'selected product')} deleted since the preview ${created.missingProducts === 1 ? 'was' : 'were'} left out)`
        : '';
    const summary =
      (created.jobCount > 0
        ? `Created ${created.orderNumber} with ${plural(created.jobCount, 'render job')}`
        : `Created draft ${created.orderNumber} with ${plural(created.itemCount, 'product')}`) + missing;
    return {
      data: {
        order_id: created.orderId,
        order_number: created.orderNumber,
        status: created.status,
        item_count: created.itemCount,
        job_count: created.jobCount,
        ...(created.missingProducts > 0 ? { deleted_since_preview: created.missingProducts } : {}),
      },
      blocks: [
        {
          type: 'facts',
          title: summary,
          facts: [
            { label: 'Order', value: created.orderNumber },
            { label: 'Status', value: created.status },
            { label: 'Products', value: fmt(created.itemCount) },
            { label: 'Render jobs queued', value: fmt(created.jobCount) },
            ...(created.missingProducts > 0
              ? [{ label: 'Deleted since the preview', value: fmt(created.missingProducts) }]
              : []),
          ],
        },
      ],
      summary,
      effects: {
        orders: [{ id: created.orderId, number: created.orderNumber }],
        subject: { type: 'order', id: created.orderId },
      },
    };
  },
});
