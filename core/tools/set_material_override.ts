import { z } from 'zod';
import { noMaterialOverride, planMaterialOverride, setMaterialOverride } from '../pipeline/orders.ts';
import { stepLine } from '../replies/steps.ts';
import { defineTool } from './tool.ts';
import { orderIdParam } from './params.ts';

/**
 * Sets or clears an order's material override. `material_name` is required (so an omitted
 * argument can never clear it by accident); the reserved word "none" clears the override.
 */
export const setMaterialOverrideTool = defineTool({
  name: 'set_material_override',
  kind: 'write',
  description:
    'Set the material that every product of an order is rendered with (e.g. "Steel-Bare"), or pass "none" to clear ' +
    'the override so each product uses its own material. Not possible once an order is completed or cancelled; while ' +
    "rendering it affects renders that have not started. Needs the user's confirmation before it runs.",
  parameters: z.object({
    order_id: orderIdParam,
    material_name: z
      .string()
      .min(1)
      .describe(`Name of one of the tenant's materials, or "${noMaterialOverride}" to clear the override`),
  }),
  stepTitle: (args) => `Preparing a material override for ${stepLine(args.order_id, 64)}…`,
  async prepare(ctx, args) {
    const { order, material } = await planMaterialOverride(
      ctx.em,
      ctx.turn.tenantId,
      args.order_id,
      args.material_name,
    );
    const n = order.orderNumber;
    const from = order.materialOverride ?? 'product materials';
    return {
      title: material ? `Set material of ${n} to ${material.name}` : `Clear material override of ${n}`,
      details: [
        `Order: ${n} (${order.status})`,
        `Material: ${from} → ${material ? `${material.name} (override for all products)` : 'product materials'}`,
        ...(order.status === 'rendering' ? ['Renders already running or finished keep their material'] : []),
      ],
    };
  },
  async run(ctx, args) {
    const r = await setMaterialOverride(ctx.em, ctx.turn.tenantId, args.order_id, args.material_name);
    const summary = r.materialOverride
      ? `Set material of ${r.orderNumber} to ${r.materialOverride}`
      : `Cleared material override of ${r.orderNumber}`;
    return {
      data: {
        order_id: r.orderId,
        order_number: r.orderNumber,
        status: r.status,
        previous_material_override: r.previous,
        material_override: r.materialOverride,
      },
      blocks: [{ type: 'text', text: `${summary}.` }],
      effects: { orders: [{ id: r.orderId, number: r.orderNumber }] },
      summary,
    };
  },
});
