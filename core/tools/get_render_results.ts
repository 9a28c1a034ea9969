import { z } from 'zod';
import { getRenderResults } from '../renders/results.ts';
import type { ReplyBlock } from '../replies/reply.ts';
import { orderIdParam } from './params.ts';
import { defineTool } from './tool.ts';
import { stepLine } from '../replies/steps.ts';

/** Thumbnails shown with a result table. */
const maxResultImages = 6;

/** Lists an order's render results: per-item status, signed links to finished renders, counts. */
export const getRenderResultsTool = defineTool({
  name: 'get_render_results',
  kind: 'read',
  description:
    "Show the render results of one order: each product's latest render status, attempts, failure reason and a link " +
    'to the finished image (links expire; ask again for fresh ones), plus counts. Completed items are listed first (at most 50).',
  parameters: z.object({
    order_id: orderIdParam,
  }),
  stepTitle: (args) => `Collecting render results of ${stepLine(args.order_id, 64)}…`,
  async run(ctx, args) {
    const r = await getRenderResults(ctx.em, ctx.turn.tenantId, args.order_id, ctx.renderLinks, ctx.now());
    const c = r.counts;
    const blocks: ReplyBlock[] = [
      {
        type: 'table',
        title: `Render results of ${r.order_number} (${r.status}): ${c.completed} completed, ${c.failed} failed, ${c.running} running, ${c.queued} queued`,
        columns: ['PIM ID', 'Product', 'Status', 'Attempts', 'Result'],
        rows: r.items.map((i) => [i.pim_id, i.product, i.status, String(i.attempts), i.url ?? i.error ?? '—']),
        total: r.item_count,
        truncated: r.truncated,
      },
    ];
    // Thumbnails, not the full-size files; their links are for people, not the model.
    for (const i of r.items.filter((x) => x.thumbnail !== null).slice(0, maxResultImages)) {
      blocks.push({ type: 'image', url: i.thumbnail!, alt: `${i.product} (${i.pim_id})` });
    }
    const { order_id: orderId, ...rest } = r;
    const data = { ...rest, items: rest.items.map(({ thumbnail: _, ...i }) => i) };
    return {
      data,
      blocks,
      outcome: `${c.completed} completed, ${c.failed} failed`,
      summary: `${r.order_number}: ${c.completed}/${r.item_count} renders completed, ${c.failed} failed`,
      effects: {
        order: { number: r.order_number, status: r.status, failedJobs: c.failed },
        cites: { orders: [{ id: orderId, number: r.order_number }] },
      },
    };
  },
});
