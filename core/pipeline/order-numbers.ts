import { queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';

/**
 * Allocates the next order number of `tenantId` for the UTC year of `now`, like SA-2026-00160.
 * The counter row is upserted and incremented in one statement, so concurrent callers get
 * distinct numbers; inside a transaction that rolls back, the number is released again.
 */
export async function nextOrderNumber(em: EntityManager, tenantId: string, now: Date): Promise<string> {
  const year = now.getUTCFullYear();
  const row = await queryOne<{ last_value: number }>(em,
    `insert into order_counter (tenant_id, year, last_value) values (?, ?, 1)
     on conflict (tenant_id, year) do update set last_value = order_counter.last_value + 1
     returning last_value`,
    [tenantId, year],
  );
  return formatOrderNumber(year, Number(row!.last_value));
}

/** Formats a year and sequence value as an order number (`SA-<year>-<5 digits>`). */
export function formatOrderNumber(year: number, value: number): string {
  return `SA-${year}-${String(value).padStart(5, '0')}`;
}
