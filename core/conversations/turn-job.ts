import { z } from 'zod';
import { turnScopeSchema } from '../turn-scope.ts';
import { deliverySchema } from '../replies/delivery.ts';

/** Inbox task: a person's message to answer. */
export const turnTask = 'turn';

/** A queued message: who asked in which session, what, and where the answer goes. */
export const turnJobSchema = z.object({ turn: turnScopeSchema, text: z.string(), delivery: deliverySchema });
export type TurnJob = z.infer<typeof turnJobSchema>;
