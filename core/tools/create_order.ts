import { z } from 'zod';
import { createOrder, maxOrderProducts, planCreateOrder, type CreateOrderPlan } from '../pipeline/orders.ts';
import { describeOverrides, renderOverridesSchema } from '../pipeline/overrides.ts';
import { defineTool, type PlanStep } from './tool.ts';

const parameters = z.object({
  product_ids: z.array(z.string().min(1)).min(1).max(maxOrderProducts)
    .describe(`Product ids or PIM ids from search_products (1..${maxOrderProducts}); every one must exist`),
  output_type_name: z.string().min(1).describe('Name of one of the tenant\'s output types, e.g. "WebP 1024x1024"'),
  render_overrides: renderOverridesSchema.optional()
    .describe('Optional render settings for this order (size, background, camera angle, quality, shadow, padding)'),
  material_override: z.string().min(1).optional()
    .describe('Material applied to every product, e.g. "Steel-Bare"; omit (or "none") to use each product\'s own material'),
  submit: z.boolean().default(true)
    .describe('Create & submit (default true): dispatches one render job per product immediately. false saves a draft for dispatch_renders'),
});

type Args = z.infer<typeof parameters>;

function planInput(args: Args) {
  return {
    productRefs: args.product_ids,
    outputTypeName: args.output_type_name,
    materialOverride: args.material_override ?? null,
    renderOverrides: args.render_overrides ?? {},
    submit: args.submit,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const clip = (s: string, max = 80) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** The confirmation preview of a create_order plan. */
export function describeCreateOrder(plan: CreateOrderPlan): PlanStep {
  const count = plan.products.ids.length;
  const shown = plan.products.sample.map((p) => `${clip(p.name)} (${p.pimId})`);
  const rest = count - shown.length;
  const ot = plan.outputType;
  return {
    title: plan.submit
      ? `Create order for ${plural(count, 'product')} and start rendering`
      : `Create draft order for ${plural(count, 'product')}`,
    details: [
      `Products: ${count} — ${shown.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`,
      `Output type: ${ot.name} (${ot.format.toUpperCase()}, ${ot.width}×${ot.height} px)`,
      `Material: ${plan.material ? `${plan.material.name} (override for all products)` : 'product materials'}`,
      `Render overrides: ${describeOverrides(plan.renderOverrides)}`,
      plan.submit
        ? `Submit: yes — ${plural(count, 'render job')} will be queued`
        : 'Submit: no — saved as a draft; start it later with dispatch_renders',
      'Order number: assigned on confirmation',
    ],
  };
}

/** Creates a render order for products of the tenant and, by default, starts rendering it. */
export const createOrderTool = defineTool({
  name: 'create_order',
  kind: 'write',
  description:
    'Create a render order for products (ids or PIM ids from search_products) with an output type, optionally a material ' +
    'override and render overrides. By default the order is submitted at once: one render job per product is queued. ' +
    'Needs the user\'s confirmation before it runs.',
  parameters,
  async prepare(ctx, args) {
    return describeCreateOrder(await planCreateOrder(ctx.em, ctx.turn.tenantId, planInput(args)));
  },
  async run(ctx, args) {
    const created = await createOrder(ctx.em, ctx.turn.tenantId, { ...planInput(args), createdBy: ctx.turn.userId, now: ctx.now() });
    const summary = created.jobCount > 0
      ? `Created ${created.orderNumber} with ${plural(created.jobCount, 'render job')}`
      : `Created draft ${created.orderNumber} with ${plural(created.itemCount, 'product')}`;
    return {
      data: {
        order_id: created.orderId,
        order_number: created.orderNumber,
        status: created.status,
        item_count: created.itemCount,
        job_count: created.jobCount,
      },
      blocks: [{
        type: 'facts',
        title: summary,
        facts: [
          { label: 'Order', value: created.orderNumber },
          { label: 'Status', value: created.status },
          { label: 'Products', value: String(created.itemCount) },
          { label: 'Render jobs queued', value: String(created.jobCount) },
        ],
      }],
      summary,
    };
  },
});
