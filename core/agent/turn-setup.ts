import { sessionSubjectSchema, type SessionSubject } from '../history/subject.ts';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import type { StoredAi } from '../llm/settings.ts';
import type { FoldedHistory } from './window.ts';
import type { TenantRow } from '../tenancy/tenants.ts';
import { monthOf, toMonthlyUsage, type MonthlyUsage } from '../llm/usage.ts';

/** What a turn needs before it can ask the model: the tenant, its AI configuration and this month's usage, what the session is about and its running summary. */
export type TurnSetup = {
  tenant: TenantRow;
  ai: StoredAi;
  usage: MonthlyUsage;
  sessionSubject: SessionSubject | undefined;
  folded: FoldedHistory | undefined;
};

/**
 * Reads a turn's setup in one query (a turn's fixed cost is counted in round trips: docs/design.md §4);
 * undefined when the tenant is gone. The session is matched within the tenant only.
 */
export async function loadTurnSetup(
  em: EntityManager,
  tenantId: string,
  sessionId: string,
  now: Date,
): Promise<TurnSetup | undefined> {
  const month = monthOf(now);
  const row = await db(em)
    .selectFrom('tenant as t')
    .leftJoin('token_usage as u', (j) => j.onRef('u.tenant', '=', 't.id').on('u.month', '=', month))
    .leftJoin('chat_session as s', (j) => j.onRef('s.tenant', '=', 't.id').on('s.id', '=', sessionId))
    .select([
      't.id',
      't.slug',
      't.name',
      't.aiProvider',
      't.monthlyTokenLimit',
      't.createdAt',
      't.aiMaxConcurrency',
      't.aiThrottleCap',
      't.aiThrottledUntil',
      't.aiSettings',
      't.aiKeyEncrypted',
      'u.promptTokens',
      'u.completionTokens',
      'u.requests',
      's.id as sessionId',
      's.context',
      's.summary',
      's.summaryUpto',
    ])
    .where('t.id', '=', tenantId)
    .executeTakeFirst();
  if (!row) return undefined;
  const {
    aiSettings,
    aiKeyEncrypted,
    promptTokens,
    completionTokens,
    requests,
    sessionId: foundSession,
    context,
    summary,
    summaryUpto,
    ...tenant
  } = row;
  const parsedSubject = sessionSubjectSchema.safeParse(context);
  return {
    tenant,
    ai: { aiProvider: tenant.aiProvider, aiSettings, aiKeyEncrypted },
    usage: toMonthlyUsage(month, {
      promptTokens,
      completionTokens,
      requests,
      monthlyTokenLimit: tenant.monthlyTokenLimit,
    }),
    sessionSubject: parsedSubject.success ? parsedSubject.data : undefined,
    folded: foundSession && summaryUpto !== null ? { summary, summaryUpto } : undefined,
  };
}
