import { z } from 'zod';
import { UserInputError } from '../errors.ts';
import { dispatchRenders, planDispatch, type DispatchPlan } from '../pipeline/orders.ts';
import type { EntityManager } from '../db/orm.ts';
import { orderIdParam, renderJobs } from './params.ts';
import { stepLine } from '../replies/steps.ts';
import { defineTool } from './tool.ts';

/** dispatch_renders' plan, limited to re-dispatching failed renders. */
async function planRetry(
  em: EntityManager,
  tenantId: string,
  ref: string,
  opts: { forUpdate?: boolean } = {},
): Promise<DispatchPlan> {
  const plan = await planDispatch(em, tenantId, ref, opts);
  if (plan.mode !== 'retry') {
    throw new UserInputError(
      'nothing_to_dispatch',
      `${plan.order.orderNumber} is a ${plan.order.status} order that was never dispatched; start it with dispatch_renders.`,
    );
  }
  return plan;
}

/** Queues new render jobs for the products of an order whose renders failed. */
export const retryFailedRendersTool = defineTool({
  name: 'retry_failed_renders',
  kind: 'write',
  description:
    'Render the failed products of a finished order again: one new render job per product whose render failed; the ' +
    'order goes back to rendering. Refused while the order is still rendering, for cancelled orders and when nothing ' +
    "failed. Needs the user's confirmation before it runs.",
  parameters: z.object({
    order_id: orderIdParam,
  }),
  stepTitle: (args) => `Preparing to retry failed renders of ${stepLine(args.order_id, 64)}…`,
  async prepare(ctx, args) {
    const plan = await planRetry(ctx.em, ctx.turn.tenantId, args.order_id);
    const n = plan.order.orderNumber;
    return {
      title: `Retry failed renders of ${n}`,
      details: [
        `Order: ${n} (${plan.order.status}, output type ${plan.order.outputType})`,
        `${renderJobs(plan.jobCount)} will be queued again for the ${plan.jobCount} of ${plan.itemCount} products whose renders failed`,
        `Status: ${plan.order.status} → rendering`,
      ],
    };
  },
  async run(ctx, args) {
    await planRetry(ctx.em, ctx.turn.tenantId, args.order_id, { forUpdate: true });
    const r = await dispatchRenders(ctx.em, ctx.turn.tenantId, args.order_id, ctx.now());
    const summary = `Re-queued ${renderJobs(r.jobCount)} of ${r.orderNumber}`;
    return {
      data: {
        order_id: r.orderId,
        order_number: r.orderNumber,
        previous_status: r.previousStatus,
        status: r.status,
        job_count: r.jobCount,
      },
      blocks: [{ type: 'text', text: `${summary}.` }],
      effects: { orders: [{ id: r.orderId, number: r.orderNumber }] },
      summary,
    };
  },
});
