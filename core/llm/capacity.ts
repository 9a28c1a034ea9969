import type { EntityManager } from '../db/orm.ts';
import { queryOne } from '../db/sql.ts';
import { UserInputError } from '../errors.ts';

/** Largest per-process cap on a tenant's concurrent model calls. */
export const MAX_MODEL_CONCURRENCY = 100_000;

/** Sets how many model calls of the tenant one process makes at once (DESIGN §4). */
export async function setModelConcurrency(em: EntityManager, tenantId: string, max: number): Promise<void> {
  if (!Number.isInteger(max) || max < 1 || max > MAX_MODEL_CONCURRENCY) {
    throw new UserInputError('bad_flag', `--max-concurrency must be a whole number from 1 to ${MAX_MODEL_CONCURRENCY.toLocaleString('en')}, got "${max}"`);
  }
  await em.execute(`update tenant set ai_max_concurrency = ? where id = ?`, [max, tenantId]);
}

/** A tenant's model cap now and its conversations' turns, across all processes. */
export type ModelCapacity = {
  /** Configured concurrent model calls per process. */
  maxConcurrency: number;
  /** The lowered cap after the provider answered 429, while it holds. */
  throttled?: { cap: number; until: Date };
  /** Messages being answered right now. */
  running: number;
  /** Messages waiting for their turn. */
  waiting: number;
};

export async function modelCapacity(em: EntityManager, tenantId: string, now: Date): Promise<ModelCapacity> {
  const row = await queryOne<{ max: number; cap: number | null; until: string | null; running: number; waiting: number }>(em,
    `select t.ai_max_concurrency as max, t.ai_throttle_cap as cap, t.ai_throttled_until as until,
            (select count(*)::int from turn_inbox i where i.tenant_id = t.id and i.done_at is null and i.started_at is not null) as running,
            (select count(*)::int from turn_inbox i where i.tenant_id = t.id and i.done_at is null and i.started_at is null) as waiting
     from tenant t where t.id = ?`, [tenantId]);
  if (!row) throw new UserInputError('tenant_not_found', 'No such tenant.');
  const until = row.until ? new Date(row.until) : undefined;
  return {
    maxConcurrency: row.max, running: row.running, waiting: row.waiting,
    ...(row.cap !== null && until && until > now ? { throttled: { cap: row.cap, until } } : {}),
  };
}
