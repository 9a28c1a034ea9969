import { z } from 'zod';
import { defineTool } from './tool.ts';
import { listOrders } from '../pipeline/orders-read.ts';
import { orderStatusSchema } from '../pipeline/statuses.ts';

/** Lists the tenant's render orders, newest first, optionally by status. */
export const listOrdersTool = defineTool({
  name: 'list_orders',
  kind: 'read',
  description:
    'List the most recent render orders (newest first) with status, output type, item count and render job counts. ' +
    'Filter by status to answer questions like "which orders are still rendering" or "what failed". ' +
    'For one order in detail (failures, progress, overrides) use get_order_status with its order number.',
  parameters: z.object({
    status: orderStatusSchema
      .optional()
      .describe(
        'Only orders with this status: draft, submitted, rendering, completed, failed or cancelled. Omit for all.',
      ),
    limit: z.number().int().min(1).max(50).default(10).describe('How many orders to return, 1..50 (default 10).'),
  }),
  stepTitle: (args) => `Listing ${args.status ? `${args.status} ` : ''}orders…`,
  async run(ctx, args) {
    const { total, orders } = await listOrders(ctx.em, ctx.turn.tenantId, { status: args.status, limit: args.limit });
    const label = args.status ? `${args.status} orders` : 'orders';
    return {
      data: {
        status: args.status ?? null,
        total,
        returned: orders.length,
        orders: orders.map((o) => ({
          order_number: o.order_number,
          status: o.status,
          output_type: o.output_type,
          items: o.item_count,
          jobs: o.jobs,
          created_at: o.created_at,
          completed_at: o.completed_at,
        })),
      },
      blocks:
        orders.length === 0
          ? [{ type: 'text', text: `No ${label} found.` }]
          : [
              {
                type: 'table',
                title: args.status ? `Latest ${label}` : 'Latest orders',
                columns: ['Order', 'Status', 'Output type', 'Items', 'Done', 'Failed', 'Created'],
                rows: orders.map((o) => [
                  o.order_number,
                  o.status,
                  o.output_type,
                  String(o.item_count),
                  `${o.jobs.completed}/${o.jobs.queued + o.jobs.running + o.jobs.completed + o.jobs.failed}`,
                  String(o.jobs.failed),
                  o.created_at.slice(0, 10),
                ]),
                total,
                truncated: total > orders.length,
              },
            ],
      outcome: `${total} found`,
      summary: `Listed ${orders.length} of ${total} ${label}`,
      effects: {
        // The newest order listed is the natural next one to look at.
        ...(orders[0]
          ? { order: { number: orders[0].order_number, status: orders[0].status, failedJobs: orders[0].jobs.failed } }
          : {}),
        cites: {
          orders: orders.map((o) => ({ id: o.id, number: o.order_number })),
          counts: [{ count: total, what: label }],
        },
      },
    };
  },
});
