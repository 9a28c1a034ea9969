import { sql, type ExpressionBuilder } from 'kysely';
import type { EntityManager } from '../db/orm.ts';
import { db, type Database } from '../db/kysely.ts';
import { UserInputError } from '../errors.ts';
import { setTenantModelConcurrency, setTenantThrottle } from '../tenancy/tenants.ts';

/** Largest per-process cap on a tenant's concurrent model calls. */
const MAX_MODEL_CONCURRENCY = 100_000;

/** Sets how many model calls of the tenant one process makes at once (docs/design.md §4). */
export async function setModelConcurrency(em: EntityManager, tenantId: string, max: number): Promise<void> {
  if (!Number.isInteger(max) || max < 1 || max > MAX_MODEL_CONCURRENCY) {
    throw new UserInputError(
      'bad_flag',
      `--max-concurrency must be a whole number from 1 to ${MAX_MODEL_CONCURRENCY.toLocaleString('en')}, got "${max}"`,
    );
  }
  await setTenantModelConcurrency(em, tenantId, max);
}

/** Records the tenant's lowered model cap after its provider answered 429, valid until `until`. */
export async function recordThrottle(em: EntityManager, tenantId: string, cap: number, until: Date): Promise<void> {
  await setTenantThrottle(em, tenantId, cap, until);
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
  const turns = (started: boolean) => (eb: ExpressionBuilder<Database, 'tenant'>) =>
    eb
      .selectFrom('turn_inbox as i')
      .select(sql<number>`count(*)::int`.as('n'))
      .whereRef('i.tenant', '=', 'tenant.id')
      .where('i.doneAt', 'is', null)
      .where('i.startedAt', started ? 'is not' : 'is', null);
  const row = await db(em)
    .selectFrom('tenant')
    .select((eb) => [
      'aiMaxConcurrency',
      'aiThrottleCap',
      'aiThrottledUntil',
      turns(true)(eb).as('running'),
      turns(false)(eb).as('waiting'),
    ])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  if (!row) throw new UserInputError('tenant_not_found', 'No such tenant.');
  const { aiThrottleCap: cap, aiThrottledUntil: until } = row;
  return {
    maxConcurrency: row.aiMaxConcurrency,
    running: row.running ?? 0,
    waiting: row.waiting ?? 0,
    ...(cap !== null && until && until > now ? { throttled: { cap, until } } : {}),
  };
}
