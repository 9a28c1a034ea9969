import { z } from 'zod';
import { planStepSchema, replySchema } from '../replies/reply.ts';
import { deliverySchema } from '../replies/delivery.ts';
import { actionStatuses } from '../db/entities/actions.ts';

/** One validated write call of a plan, with the preview step the user saw. */
export const planCallSchema = z.object({
  toolCallId: z.string(),
  tool: z.string(),
  args: z.record(z.string(), z.unknown()),
  step: planStepSchema,
});
export type PlanCall = z.infer<typeof planCallSchema>;

type ActionStatus = (typeof actionStatuses)[number];

/** Where a plan was asked: its follow-up and its orders' notices go there, whoever confirms it. */
export const actionOriginSchema = z.object({ delivery: deliverySchema });
export type ActionOrigin = z.infer<typeof actionOriginSchema>;

/** What a decided action came to: the outcome in words, each step's data, or the error. */
const actionResultSchema = z.object({
  outcome: z.string(),
  results: z.array(z.unknown()).optional(),
  error: z.string().optional(),
});
export type ActionResult = z.infer<typeof actionResultSchema>;

/** The JSON a pending_action row stores, checked when it is read back. */
export const storedActionSchema = z.object({
  plan: z.array(planCallSchema),
  preview: z.object({ title: z.string() }),
  result: actionResultSchema.nullable(),
});

/** A pending action (docs/design.md §6). */
export type ActionRow = z.infer<typeof storedActionSchema> & {
  id: string;
  tenantId: string;
  sessionId: string;
  requestedBy: string;
  status: ActionStatus;
  expiresAt: Date;
  decidedBy: string | null;
  /** Display name of the decider, when the platform told us. */
  decidedByName: string | null;
  decidedAt: Date | null;
  /** Where it was asked (absent for plans proposed without a delivery, e.g. directly through the core). */
  origin: unknown;
  createdAt: Date;
};

/** What a decision returns to the adapter: the outcome, the card to show in place, and whether it changed anything. */
const decisionSchema = z.object({
  ok: z.boolean(),
  status: z.enum([...actionStatuses, 'not_found']),
  message: z.string(),
  reply: replySchema,
  sessionId: z.string().optional(),
});
export type Decision = z.infer<typeof decisionSchema>;
