import type { EntityManager } from '../../core/db/orm.ts';
import { createOrder } from '../../core/pipeline/orders.ts';
import type { Orm } from '../../core/db/orm.ts';
import { z } from 'zod';
import { rows } from './rows.ts';

/**
 * Polls `check` until it returns a value other than undefined, at most `timeoutMs`; for state
 * that another process (the queue worker) changes and that has no event to await.
 */
export async function waitFor<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Status of an order. */
export async function orderStatus(orm: Orm, orderId: string): Promise<string> {
  const [row] = await rows(
    orm.em.fork(),
    z.object({ status: z.string() }),
    `select status from render_order where id = ?`,
    [orderId],
  );
  return row!.status;
}

/** Waits until order `orderId` has status `status`. */
export function waitForOrder(orm: Orm, orderId: string, status: string, timeoutMs?: number): Promise<true> {
  return waitFor(
    async () => ((await orderStatus(orm, orderId)) === status ? true : undefined),
    `order ${orderId} to be ${status}`,
    timeoutMs,
  );
}

/** Jobs of an order, by PIM id. */
export async function jobsOf(em: EntityManager, orderId: string) {
  return await rows(
    em,
    z.object({
      id: z.string(),
      tenant_id: z.string(),
      pim_id: z.string(),
      status: z.string(),
      attempts: z.number(),
      error: z.string().nullable(),
      result_url: z.string().nullable(),
      started_at: z.string().nullable(),
      finished_at: z.string().nullable(),
    }),
    `select j.id, j.tenant_id, p.pim_id, j.status, j.attempts, j.error, j.result_url, j.started_at, j.finished_at
     from render_job j join product p on p.id = j.product_id where j.order_id = ? order by p.pim_id, j.queued_at`,
    [orderId],
  );
}

/** Creates and submits an order (one transaction, as a confirmation would). */
export async function submitOrder(
  orm: Orm,
  tenantId: string,
  productRefs: string[],
  outputTypeName: string,
  renderOverrides: Record<string, unknown> = {},
) {
  return orm.em.fork().transactional((tx) =>
    createOrder(tx, tenantId, {
      products: { refs: productRefs },
      outputTypeName,
      renderOverrides,
      submit: true,
      createdBy: 'test',
      now: new Date(),
    }),
  );
}
