import { z } from 'zod';
import { turnScopeSchema, type TurnScope } from '../turn-scope.ts';
import type { EntityManager } from '../db/orm.ts';
import { submitToSession } from '../queue/session-inbox.ts';
import { deliverySchema, type Delivery } from '../replies/delivery.ts';

/** Inbox task: the model's short follow-up after a confirmed plan, in the session where the plan was asked. */
export const followUpTask = 'followup';

/** A confirmed step as the follow-up's next steps need it: the tool and the orders it wrote. */
const doneStepSchema = z.object({
  tool: z.string(),
  effects: z.object({ orders: z.array(z.object({ id: z.string(), number: z.string() })).optional() }).optional(),
});

export const followUpJobSchema = z.object({
  turn: turnScopeSchema,
  fallback: z.string(),
  delivery: deliverySchema,
  done: z.array(doneStepSchema).optional(),
});
type FollowUpJob = z.infer<typeof followUpJobSchema>;

/**
 * Queues the follow-up of a confirmed plan into its session's inbox — in the confirming
 * transaction, so it exists exactly when the decision commits and runs once, after whatever
 * that session is answering now. `fallback` is said when the model cannot be asked.
 */
export async function queueFollowUp(
  em: EntityManager,
  turn: TurnScope,
  fallback: string,
  delivery: Delivery,
  done: FollowUpJob['done'] = [],
): Promise<void> {
  await submitToSession(em, turn, {
    task: followUpTask,
    payload: { turn, fallback, delivery, done } satisfies FollowUpJob,
  });
}
