import { z } from 'zod';
import { platformSchema, roleSchema, type Platform, type Role } from './tenancy/roles.ts';

/**
 * Who is speaking, for which tenant, in which session. Resolved by an adapter from the link
 * tables; no core function takes a tenant id from user or model text (docs/design.md §2).
 */
export const turnScopeSchema = z.object({
  tenantId: z.uuid(),
  userId: z.string().min(1),
  role: roleSchema,
  sessionId: z.uuid(),
  platform: platformSchema,
  /**
   * Whether other people take part in this conversation (a channel thread, a group chat): there
   * `new` and `forget` need an operator. Unset: shared on Slack and Teams, personal elsewhere.
   */
  shared: z.boolean().optional(),
});
export type TurnScope = z.infer<typeof turnScopeSchema>;

/** The person clicking Confirm/Cancel, as resolved by the adapter; `name` is shown on the card. */
export type Actor = { tenantId: string; userId: string; role: Role; platform: Platform; name?: string };
