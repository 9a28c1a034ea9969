import { z } from 'zod';
import { defineTool } from './tool.ts';
import { stepLine } from '../replies/steps.ts';
import { orderIdParam } from './params.ts';
import { checkMaterials } from '../pipeline/materials.ts';
import type { ReplyBlock } from '../replies/reply.ts';

const problemLabels = { missing_material: 'no material', unknown_material: 'unknown material' } as const;

/** Checks that every product of an order has a material the tenant knows. */
export const checkMaterialsTool = defineTool({
  name: 'check_materials',
  kind: 'read',
  description:
    "Check an order before rendering: for each of its products the effective material (the order's material override " +
    "if set, else the product's own material) must exist in the material library. Reports products with no material " +
    'and products whose material is unknown, plus the known material names; setting a material override on the order (set_material_override) fixes both.',
  parameters: z.object({
    order_id: orderIdParam,
  }),
  stepTitle: (args) => `Checking materials of ${stepLine(args.order_id, 64)}…`,
  async run(ctx, args) {
    const c = await checkMaterials(ctx.em, ctx.turn.tenantId, args.order_id);
    const blocks: ReplyBlock[] = [
      {
        type: 'facts',
        title: `Materials of ${c.order_number}`,
        facts: [
          { label: 'Material override', value: c.material_override ?? '—' },
          { label: 'Products', value: String(c.counts.products) },
          { label: 'OK', value: String(c.counts.ok) },
          { label: 'Without material', value: String(c.counts.missing) },
          { label: 'Unknown material', value: String(c.counts.unknown) },
        ],
      },
    ];
    const problemCount = c.counts.missing + c.counts.unknown;
    if (problemCount > 0) {
      blocks.push({
        type: 'table',
        title: 'Products with material problems',
        columns: ['PIM ID', 'Product', 'Problem', 'Material'],
        rows: c.problems.map((p) => [p.pim_id, p.name, problemLabels[p.problem], p.material ?? '—']),
        total: problemCount,
        truncated: problemCount > c.problems.length,
      });
    }
    return {
      data: {
        ...c,
        ok: problemCount === 0,
        problems: c.problems.map(({ product_id: _id, ...p }) => p),
      },
      blocks,
      outcome: problemCount === 0 ? 'no problems' : `${problemCount} problem${problemCount === 1 ? '' : 's'}`,
      summary:
        problemCount === 0
          ? `${c.order_number}: all ${c.counts.products} products have a known material`
          : `${c.order_number}: ${c.counts.missing} without material, ${c.counts.unknown} with an unknown material`,
    };
  },
});
