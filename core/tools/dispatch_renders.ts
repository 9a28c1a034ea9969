import { z } from 'zod';
import { RenderBotError } from '../errors.ts';
import { dispatchRenders, planDispatch } from '../pipeline/orders.ts';
import { stepLine } from '../replies/steps.ts';
import { defineTool } from './tool.ts';
import { orderIdParam, renderJobs } from './params.ts';

/**
 * Starts rendering an existing order: a draft/submitted order gets one job per product; a
 * failed order (or a completed one with failed renders) gets new jobs for the failed products only.
 */
export const dispatchRendersTool = defineTool({
  name: 'dispatch_renders',
  kind: 'write',
  description:
    'Queue render jobs for an existing order: a draft gets one job per product; a failed order has only its failed ' +
    'renders queued again. Refused for orders that are rendering or cancelled. create_order already dispatches by ' +
    "default, so use this for drafts and retries. Needs the user's confirmation before it runs.",
  parameters: z.object({
    order_id: orderIdParam,
  }),
  stepTitle: (args) => `Preparing to render ${stepLine(args.order_id, 64)}…`,
  async prepare(ctx, args) {
    const plan = await planDispatch(ctx.em, ctx.turn.tenantId, args.order_id);
    const n = plan.order.orderNumber;
    return plan.mode === 'first'
      ? {
          title: `Start rendering ${n}`,
          details: [
            `Order: ${n} (${plan.order.status}, output type ${plan.order.outputType})`,
            `${renderJobs(plan.jobCount)} will be queued, one per product`,
            `Status: ${plan.order.status} → rendering`,
          ],
        }
      : {
          title: `Re-dispatch failed renders of ${n}`,
          details: [
            `Order: ${n} (${plan.order.status}, output type ${plan.order.outputType})`,
            `${renderJobs(plan.jobCount)} will be queued again for the ${plan.jobCount} of ${plan.itemCount} products whose renders failed`,
            `Status: ${plan.order.status} → rendering`,
          ],
        };
  },
  // A dispatch for the order a create_order of the same response creates (it has no number
  // yet, so it is not found) folds into that create_order, which then submits: create & submit.
  // When no create_order made it into the plan, the dispatch keeps its own error.
  fold(_ctx, _args, error, planned) {
    if (!(error instanceof RenderBotError) || error.code !== 'order_not_found') return undefined;
    const creates = planned.filter((p) => p.tool.name === 'create_order');
    if (creates.length === 0) return undefined;
    return {
      into: creates.map((c) => ({ toolCallId: c.toolCallId, args: { ...c.args, submit: true } })),
      result: 'Folded into create_order: it is created and submitted in one step, which dispatches its renders.',
    };
  },
  async run(ctx, args) {
    const r = await dispatchRenders(ctx.em, ctx.turn.tenantId, args.order_id, ctx.now());
    const summary =
      r.mode === 'first'
        ? `Dispatched ${r.orderNumber} with ${renderJobs(r.jobCount)}`
        : `Re-dispatched ${renderJobs(r.jobCount)} of ${r.orderNumber}`;
    return {
      data: {
        order_id: r.orderId,
        order_number: r.orderNumber,
        previous_status: r.previousStatus,
        status: r.status,
        mode: r.mode,
        job_count: r.jobCount,
      },
      blocks: [{ type: 'text', text: `${summary}.` }],
      effects: { orders: [{ id: r.orderId, number: r.orderNumber }] },
      summary,
    };
  },
});
