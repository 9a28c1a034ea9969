import { z } from 'zod';
import { cancelOrder, planCancel } from '../pipeline/cancel.ts';
import { orderIdParam, renderJobs } from './params.ts';
import { stepLine } from '../replies/steps.ts';
import { defineTool } from './tool.ts';

/** Cancels an order that has not finished; queued renders are dropped, running ones finish. */
export const cancelOrderTool = defineTool({
  name: 'cancel_order',
  kind: 'write',
  description:
    'Cancel a draft, submitted or rendering order: renders not started yet are dropped (marked failed "cancelled"), ' +
    'renders already running finish but the order stays cancelled. Completed, failed or cancelled orders cannot be ' +
    "cancelled. Needs the user's confirmation before it runs.",
  parameters: z.object({
    order_id: orderIdParam,
  }),
  stepTitle: (args) => `Preparing to cancel ${stepLine(args.order_id, 64)}…`,
  async prepare(ctx, args) {
    const plan = await planCancel(ctx.em, ctx.turn.tenantId, args.order_id);
    const n = plan.order.orderNumber;
    return {
      title: `Cancel ${n}`,
      details: [
        `Order: ${n} (${plan.order.status}, output type ${plan.order.outputType})`,
        `${renderJobs(plan.queued)} not started yet will be dropped`,
        plan.running > 0
          ? `${renderJobs(plan.running)} already running will finish; their results stay available`
          : 'No render jobs are running',
        `Status: ${plan.order.status} → cancelled (cannot be undone)`,
      ],
    };
  },
  async run(ctx, args) {
    const r = await cancelOrder(ctx.em, ctx.turn.tenantId, args.order_id, ctx.now());
    const summary = `Cancelled ${r.orderNumber}; ${renderJobs(r.cancelledJobs)} dropped`;
    return {
      data: {
        order_id: r.orderId,
        order_number: r.orderNumber,
        previous_status: r.previousStatus,
        status: r.status,
        cancelled_jobs: r.cancelledJobs,
        running_jobs: r.runningJobs,
      },
      blocks: [
        {
          type: 'text',
          text: `${summary}${r.runningJobs > 0 ? `; ${renderJobs(r.runningJobs)} still running will finish` : ''}.`,
        },
      ],
      effects: { orders: [{ id: r.orderId, number: r.orderNumber }] },
      summary,
    };
  },
});
