import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';

/**
 * Allocates the next order number of `tenantId` for the UTC year of `now`, like SA-2026-00160.
 * The counter row is upserted and incremented in one statement, so concurrent callers get
 * distinct numbers; inside a transaction that rolls back, the number is released again.
 */
export async function nextOrderNumber(em: EntityManager, tenantId: string, now: Date): Promise<string> {
  const year = now.getUTCFullYear();
  const row = await db(em)
    .insertInto('order_counter')
    .values({ tenant: tenantId, year, lastValue: 1 })
    .onConflict((oc) =>
      oc.columns(['tenant', 'year']).doUpdateSet((eb) => ({ lastValue: eb('order_counter.lastValue', '+', 1) })),
    )
    .returning('lastValue')
    .executeTakeFirstOrThrow();
  return formatOrderNumber(year, row.lastValue);
}

/** Formats a year and sequence value as an order number (`SA-<year>-<5 digits>`). */
function formatOrderNumber(year: number, value: number): string {
  return `SA-${year}-${String(value).padStart(5, '0')}`;
}
