import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';

/** First day of `now`'s month (UTC) as YYYY-MM-01. */
export function monthOf(now: Date): string {
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

/** This month's usage and limit for a tenant. */
export type MonthlyUsage = {
  month: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  requests: number;
  limit: number | null;
};

export async function monthlyUsage(em: EntityManager, tenantId: string, now: Date): Promise<MonthlyUsage> {
  const month = monthOf(now);
  const row = await db(em)
    .selectFrom('tenant as t')
    .leftJoin('token_usage as u', (j) => j.onRef('u.tenant', '=', 't.id').on('u.month', '=', month))
    .select(['u.promptTokens', 'u.completionTokens', 'u.requests', 't.monthlyTokenLimit'])
    .where('t.id', '=', tenantId)
    .executeTakeFirst();
  return toMonthlyUsage(month, row ?? {});
}

/** A month's usage from the `token_usage` row joined to its tenant (columns null when nothing was used yet). */
export function toMonthlyUsage(
  month: string,
  row: {
    promptTokens?: number | null;
    completionTokens?: number | null;
    requests?: number | null;
    monthlyTokenLimit?: number | null;
  },
): MonthlyUsage {
  const promptTokens = row.promptTokens ?? 0;
  const completionTokens = row.completionTokens ?? 0;
  return {
    month,
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    requests: row.requests ?? 0,
    limit: row.monthlyTokenLimit ?? null,
  };
}
