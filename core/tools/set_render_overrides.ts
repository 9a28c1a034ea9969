import { z } from 'zod';
import { planRenderOverrides, setRenderOverrides } from '../pipeline/orders.ts';
import { describeOverrides, renderOverrideKeys, renderOverridesSchema } from '../pipeline/overrides.ts';
import { stepLine } from '../replies/steps.ts';
import { defineTool } from './tool.ts';
import { orderIdParam } from './params.ts';

/**
 * Changes an order's render overrides: `overrides` are merged into the existing ones and the
 * keys in `clear` are removed first (an omitted key is left unchanged, never cleared).
 */
export const setRenderOverridesTool = defineTool({
  name: 'set_render_overrides',
  kind: 'write',
  description:
    'Change render settings of an order (width, height, background, camera_angle, quality, shadow, padding). Given ' +
    "keys are merged into the order's existing overrides; list keys in clear to remove them. Not possible once an " +
    "order is completed or cancelled. Needs the user's confirmation before it runs.",
  parameters: z.object({
    order_id: orderIdParam,
    overrides: renderOverridesSchema.describe('Render overrides to set; keys not given stay as they are'),
    clear: z
      .array(z.enum(renderOverrideKeys))
      .optional()
      .describe("Override keys to remove (back to the output type's defaults), applied before overrides"),
  }),
  stepTitle: (args) => `Preparing render settings for ${stepLine(args.order_id, 64)}…`,
  async prepare(ctx, args) {
    const plan = await planRenderOverrides(ctx.em, ctx.turn.tenantId, args.order_id, args.overrides, args.clear ?? []);
    const n = plan.order.orderNumber;
    return {
      title: `Change render overrides of ${n}`,
      details: [
        `Order: ${n} (${plan.order.status})`,
        ...(Object.keys(args.overrides).length > 0 ? [`Set: ${describeOverrides(args.overrides)}`] : []),
        ...(args.clear && args.clear.length > 0 ? [`Clear: ${args.clear.join(', ')}`] : []),
        `Before: ${describeOverrides(plan.previous)}`,
        `After: ${describeOverrides(plan.next)}`,
        ...(plan.order.status === 'rendering' ? ['Renders already running or finished keep their settings'] : []),
      ],
    };
  },
  async run(ctx, args) {
    const r = await setRenderOverrides(ctx.em, ctx.turn.tenantId, args.order_id, args.overrides, args.clear ?? []);
    const summary = `Render overrides of ${r.orderNumber}: ${describeOverrides(r.renderOverrides)}`;
    return {
      data: {
        order_id: r.orderId,
        order_number: r.orderNumber,
        status: r.status,
        previous_render_overrides: r.previous,
        render_overrides: r.renderOverrides,
      },
      blocks: [{ type: 'text', text: `${summary}.` }],
      effects: { orders: [{ id: r.orderId, number: r.orderNumber }] },
      summary,
    };
  },
});
