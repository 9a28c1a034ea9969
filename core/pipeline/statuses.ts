import { z } from 'zod';

/** Order lifecycle: draft → submitted → rendering → completed | failed, or cancelled. */
export const orderStatuses = ['draft', 'submitted', 'rendering', 'completed', 'failed', 'cancelled'] as const;
export const orderStatusSchema = z.enum(orderStatuses);
export type OrderStatus = z.infer<typeof orderStatusSchema>;

/** Render job lifecycle. */
export const jobStatuses = ['queued', 'running', 'completed', 'failed'] as const;
export const jobStatusSchema = z.enum(jobStatuses);
export type JobStatus = z.infer<typeof jobStatusSchema>;
