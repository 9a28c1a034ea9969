import { z } from 'zod';

/** The delivery target a queued Teams turn carries: the tenant and where to post. */
export const teamsTargetSchema = z.object({
  tenantId: z.uuid(),
  conversationReference: z.record(z.string(), z.unknown()),
});
