import { z } from 'zod';
import { jobStatuses, orderStatuses } from '../enums.ts';

export { jobStatuses, orderStatuses };

/** Order lifecycle: draft → submitted → rendering → completed | failed, or cancelled. */
export const orderStatusSchema = z.enum(orderStatuses);
export type OrderStatus = z.infer<typeof orderStatusSchema>;

/** Render job lifecycle. */
const jobStatusSchema = z.enum(jobStatuses);
export type JobStatus = z.infer<typeof jobStatusSchema>;
