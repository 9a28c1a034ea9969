import { queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';

/** First day of `now`'s month (UTC) as YYYY-MM-01. */
export function monthOf(now: Date): string {
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

/** Adds one model call's tokens to the tenant's monthly total. */
export async function recordUsage(em: EntityManager, tenantId: string, promptTokens: number, completionTokens: number, now: Date): Promise<void> {
  await em.execute(
    `insert into token_usage (tenant_id, month, prompt_tokens, completion_tokens, requests) values (?, ?, ?, ?, 1)
     on conflict (tenant_id, month) do update set prompt_tokens = token_usage.prompt_tokens + excluded.prompt_tokens,
       completion_tokens = token_usage.completion_tokens + excluded.completion_tokens, requests = token_usage.requests + 1`,
    [tenantId, monthOf(now), promptTokens, completionTokens],
  );
}

/** This month's usage and limit for a tenant. */
export type MonthlyUsage = { month: string; promptTokens: number; completionTokens: number; totalTokens: number; requests: number; limit: number | null };

export async function monthlyUsage(em: EntityManager, tenantId: string, now: Date): Promise<MonthlyUsage> {
  const month = monthOf(now);
  const row = await queryOne<{ prompt_tokens: string | null; completion_tokens: string | null; requests: number | null; limit: string | null }>(em,
    `select u.prompt_tokens, u.completion_tokens, u.requests, t.monthly_token_limit as limit
     from tenant t left join token_usage u on u.tenant_id = t.id and u.month = ? where t.id = ?`,
    [month, tenantId],
  );
  const promptTokens = Number(row?.prompt_tokens ?? 0);
  const completionTokens = Number(row?.completion_tokens ?? 0);
  return { month, promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, requests: row?.requests ?? 0, limit: row?.limit == null ? null : Number(row.limit) };
}
