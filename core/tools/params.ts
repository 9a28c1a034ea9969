import { z } from 'zod';

/** The `order_id` parameter every order tool takes: an order number or the order's id. */
export const orderIdParam = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .describe('Order number like SA-2026-00160, or the order id (uuid).');

/** "1 render job" / "3 render jobs", for previews and summaries. */
export const renderJobs = (n: number) => `${n} render job${n === 1 ? '' : 's'}`;
