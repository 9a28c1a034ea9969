import { z } from 'zod';
import { planStepSchema, replySchema } from '../replies/reply.ts';
import { deliverySchema } from '../conversations/delivery.ts';

/** One validated write call of a plan, with the preview step the user saw. */
export const planCallSchema = z.object({
  toolCallId: z.string(),
  tool: z.string(),
  args: z.record(z.string(), z.unknown()),
  step: planStepSchema,
});
export type PlanCall = z.infer<typeof planCallSchema>;

export const actionStatuses = ['pending', 'executing', 'done', 'failed', 'cancelled', 'expired'] as const;
export type ActionStatus = (typeof actionStatuses)[number];

/** Where a plan was asked: its follow-up and its orders' notices go there, whoever confirms it. */
export const actionOriginSchema = z.object({ delivery: deliverySchema });
export type ActionOrigin = z.infer<typeof actionOriginSchema>;

/** A pending_action row. */
export type ActionRow = {
  id: string;
  tenant_id: string;
  session_id: string;
  requested_by: string;
  plan: PlanCall[];
  preview: { title: string };
  status: ActionStatus;
  expires_at: string;
  decided_by: string | null;
  /** Display name of the decider, when the platform told us. */
  decided_by_name: string | null;
  decided_at: string | null;
  result: { outcome: string; results?: unknown[]; error?: string } | null;
  message_ref: Record<string, unknown> | null;
  /** Where it was asked (absent for plans proposed without a delivery, e.g. directly through the core). */
  origin: unknown;
  created_at: string;
};

/** What a decision returns to the adapter: the outcome, the card to show in place, and whether it changed anything. */
export const decisionSchema = z.object({
  ok: z.boolean(),
  status: z.enum([...actionStatuses, 'not_found']),
  message: z.string(),
  reply: replySchema,
  sessionId: z.string().optional(),
});
export type Decision = z.infer<typeof decisionSchema>;
