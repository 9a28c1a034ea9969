import { z } from 'zod';
import { defineTool } from './tool.ts';
import { stepLine } from '../replies/steps.ts';
import { orderIdParam } from './params.ts';
import { getOrderStatus } from '../pipeline/orders-read.ts';
import type { ReplyBlock } from '../replies/reply.ts';

/** Reports one order's render progress, timestamps, overrides and latest failures. */
export const getOrderStatusTool = defineTool({
  name: 'get_order_status',
  kind: 'read',
  description:
    'Show one render order in detail: status, render job counts (queued, running, completed, failed), progress, ' +
    'timestamps, material override, render overrides and the latest failure messages. ' +
    'Use the order number exactly as the user or list_orders gave it (e.g. SA-2026-00160).',
  parameters: z.object({
    order_id: orderIdParam,
  }),
  stepTitle: (args) => `Looking up ${stepLine(args.order_id, 64)}…`,
  async run(ctx, args) {
    const o = await getOrderStatus(ctx.em, ctx.turn.tenantId, args.order_id);
    const facts = [
      { label: 'Status', value: o.status },
      { label: 'Output type', value: o.output_type },
      { label: 'Items', value: String(o.item_count) },
      {
        label: 'Jobs',
        value: `${o.jobs.completed} completed, ${o.jobs.failed} failed, ${o.jobs.running} running, ${o.jobs.queued} queued`,
      },
      { label: 'Material override', value: o.material_override ?? '—' },
      { label: 'Created', value: o.created_at },
    ];
    if (Object.keys(o.render_overrides).length > 0)
      facts.push({ label: 'Render overrides', value: JSON.stringify(o.render_overrides) });
    if (o.submitted_at) facts.push({ label: 'Submitted', value: o.submitted_at });
    if (o.completed_at) facts.push({ label: 'Completed', value: o.completed_at });
    else if (o.last_finished_at) facts.push({ label: 'Last job finished', value: o.last_finished_at });
    const blocks: ReplyBlock[] = [
      { type: 'facts', title: `Order ${o.order_number}`, facts },
      {
        type: 'progress',
        orderNumber: o.order_number,
        status: o.status,
        total: o.total_jobs,
        counts: o.jobs,
        ratio: o.progress,
      },
    ];
    if (o.failures.length > 0) {
      blocks.push({
        type: 'table',
        title: 'Latest failures',
        columns: ['PIM ID', 'Product', 'Error'],
        rows: o.failures.map((f) => [f.pim_id, f.product, f.error ?? 'unknown error']),
        total: o.jobs.failed,
        truncated: o.jobs.failed > o.failures.length,
      });
    }
    const { id: _id, created_by: _by, ...data } = o;
    return {
      data,
      blocks,
      outcome: `${o.status}, ${o.jobs.completed + o.jobs.failed}/${o.total_jobs} jobs finished`,
      summary: `${o.order_number}: ${o.status}, ${o.jobs.completed + o.jobs.failed}/${o.total_jobs} jobs finished`,
      // The conversation is about this order now (by the number it was asked by the model or a person as).
      effects: {
        subject: { type: 'order', id: o.order_number },
        order: { number: o.order_number, status: o.status, failedJobs: o.jobs.failed },
        cites: { orders: [{ id: o.id, number: o.order_number }] },
      },
    };
  },
});
