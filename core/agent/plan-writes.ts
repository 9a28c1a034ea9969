import type { PlanCall } from '../actions/plan.ts';
import { publicMessage, RenderBotError } from '../errors.ts';
import type { StoredToolCall } from '../history/messages.ts';
import type { Frozen, PlannedWrite, Prepared, ToolDeps, WriteTool } from '../tools/tool.ts';

/** A write call of one model response whose arguments already validated. */
export type WriteCall = { call: StoredToolCall; tool: WriteTool; args: Record<string, unknown> };

/** A call of the plan, with what its `prepare` froze (stored beside the action, not in its plan). */
export type PlannedCall = PlanCall & { frozen?: Frozen };

/**
 * Turns the write calls of one model response into one plan (docs/design.md §6): each call is
 * prepared (validated, names resolved, preview written, selections frozen). Tools with a `fold`
 * hook are prepared last; when their preparation fails the hook may fold them into calls planned
 * already (dispatch_renders for the order a create_order of the same response creates → that
 * create_order submits). Calls that fail preparation and do not fold get their error as their
 * result and stay out of the plan.
 */
export async function planWrites(
  ctx: ToolDeps,
  writes: WriteCall[],
  results: Map<string, string>,
): Promise<PlannedCall[]> {
  const ordered = [...writes.filter((w) => !w.tool.fold), ...writes.filter((w) => w.tool.fold)];
  const plan: PlannedCall[] = [];
  const tools = new Map<string, WriteTool>();
  for (const w of ordered) {
    try {
      plan.push(planned(w.call.id, w.tool.name, w.args, await w.tool.prepare(ctx, w.args)));
      tools.set(w.call.id, w.tool);
    } catch (err) {
      const fold = w.tool.fold?.(
        ctx,
        w.args,
        err,
        plan.map((p): PlannedWrite => ({
          toolCallId: p.toolCallId,
          tool: tools.get(p.toolCallId)!,
          args: p.args,
          step: p.step,
        })),
      );
      if (fold) {
        await refold(ctx, plan, tools, fold.into);
        results.set(w.call.id, fold.result);
        continue;
      }
      if (!(err instanceof RenderBotError)) ctx.log.error({ err, tool: w.tool.name }, 'write preparation failed');
      results.set(w.call.id, `Error: ${publicMessage(err)}`);
    }
  }
  return plan;
}

function planned(toolCallId: string, tool: string, args: Record<string, unknown>, prepared: Prepared): PlannedCall {
  const { frozen, ...step } = prepared;
  return { toolCallId, tool, args, step, ...(frozen ? { frozen } : {}) };
}

/** Gives planned calls their folded arguments and prepares them again (new preview, new frozen state). */
async function refold(
  ctx: ToolDeps,
  plan: PlannedCall[],
  tools: Map<string, WriteTool>,
  into: { toolCallId: string; args: Record<string, unknown> }[],
): Promise<void> {
  for (const change of into) {
    const at = plan.findIndex((p) => p.toolCallId === change.toolCallId);
    const tool = tools.get(change.toolCallId);
    if (at < 0 || !tool || JSON.stringify(plan[at]!.args) === JSON.stringify(change.args)) continue;
    plan[at] = planned(change.toolCallId, tool.name, change.args, await tool.prepare(ctx, change.args));
  }
}
