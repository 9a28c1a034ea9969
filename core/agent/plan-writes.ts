import type { PlanCall } from '../actions/plan.ts';
import { publicMessage, RenderBotError } from '../errors.ts';
import type { StoredToolCall } from './messages.ts';
import type { ToolContext, WriteTool } from '../tools/tool.ts';

/** A write call of one model response whose arguments already validated. */
export type WriteCall = { call: StoredToolCall; tool: WriteTool; args: Record<string, unknown> };

/**
 * Turns the write calls of one model response into one plan (DESIGN §6): each call is
 * prepared (validated, names resolved, preview written); a dispatch_renders for the order that
 * a create_order of the same response creates is folded into it (create & submit). Calls that
 * fail preparation get their error as their answer and stay out of the plan.
 */
export async function planWrites(ctx: ToolContext, writes: WriteCall[], answers: Map<string, string>): Promise<PlanCall[]> {
  const creates = writes.filter((w) => w.tool.name === 'create_order');
  const ordered = [...creates, ...writes.filter((w) => w.tool.name !== 'create_order')];
  const plan: PlanCall[] = [];
  for (const w of ordered) {
    try {
      const step = await w.tool.prepare(ctx, w.args);
      plan.push({ toolCallId: w.call.id, tool: w.tool.name, args: w.args, step });
    } catch (err) {
      // Only a create_order that made it into the plan can take the dispatch over.
      const planned = creates.some((c) => plan.some((p) => p.toolCallId === c.call.id));
      if (w.tool.name === 'dispatch_renders' && planned && err instanceof RenderBotError && err.code === 'order_not_found') {
        await foldIntoCreate(ctx, plan, creates);
        answers.set(w.call.id, 'Folded into create_order: it is created and submitted in one step, which dispatches its renders.');
        continue;
      }
      if (!(err instanceof RenderBotError)) ctx.log.error({ err, tool: w.tool.name }, 'write preparation failed');
      answers.set(w.call.id, `Error: ${publicMessage(err)}`);
    }
  }
  return plan;
}

/** Makes the planned create_order calls submit (dispatch) and refreshes their previews. */
async function foldIntoCreate(ctx: ToolContext, plan: PlanCall[], creates: WriteCall[]): Promise<void> {
  for (const c of creates) {
    const planned = plan.find((p) => p.toolCallId === c.call.id);
    if (!planned || planned.args.submit !== false) continue;
    planned.args = { ...planned.args, submit: true };
    planned.step = await c.tool.prepare(ctx, planned.args);
  }
}
