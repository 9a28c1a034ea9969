import type { EntityManager } from '../db/orm.ts';
import { z } from 'zod';
import { idRow, pgArray, rows } from '../db/sql.ts';
import { claimedItemsSql, inboxRowsSchema, TURN_CHANNEL, type ClaimedItems } from './session-inbox.ts';

/*
 * Session leases (docs/design.md §4): one process drives a session at a time — the one whose id is in
 * `chat_session.lease_owner` while `lease_expires_at` is in the future. The holder renews the
 * lease while its turns run; nothing is held on a connection, so waiting on the model costs none.
 * A process that dies stops renewing, and once its leases expire any live process takes the
 * sessions over (and resumes their started items). All times are the database's clock.
 */

/** Which sessions a runner may take: every platform but `excludePlatforms`, or only those of one thread key (a terminal's). */
export type LeaseScope = { excludePlatforms?: readonly string[]; thread?: { platform: string; key: string } };

/** A session a runner took: its tenant and that tenant's model cap (the runner keeps each tenant's share bounded). */
const claimedRow = z.object({ id: z.string(), tenantId: z.string(), cap: z.number() });
/** `pending`: the session's pending items as the claim read them (claimSession) and the one it started, if any. */
const claimedWithItemsRow = claimedRow
  .extend({ items: inboxRowsSchema, startedId: z.string().nullable() })
  .transform(({ items, startedId, ...c }) => ({ ...c, pending: { items, startedId } }));
export type Claimed = z.output<typeof claimedRow> & { pending?: ClaimedItems };

const free = `(s.lease_owner is null or s.lease_expires_at < now())`;
const pending = `exists (select 1 from turn_inbox i where i.session_id = s.id and i.done_at is null)`;
const lease = `lease_owner = ?, lease_expires_at = now() + make_interval(secs => ?::float8 / 1000)`;

function scopeSql(scope: LeaseScope, excludeTenants: readonly string[]): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (scope.excludePlatforms?.length) {
    parts.push(`s.platform <> all(?::text[])`);
    params.push(pgArray(scope.excludePlatforms));
  }
  if (scope.thread) {
    parts.push(`s.platform = ? and s.key = ?`);
    params.push(scope.thread.platform, scope.thread.key);
  }
  if (excludeTenants.length) {
    parts.push(`s.tenant_id <> all(?::uuid[])`);
    params.push(pgArray(excludeTenants));
  }
  return { sql: parts.map((p) => ` and ${p}`).join(''), params };
}

/**
 * Takes the lease of one session that has pending items, if it is free and its tenant is not
 * among `excludeTenants` (those with their share of this process already running). In the same
 * statement it reads the session's pending items and, when only one is pending, starts it
 * (session-inbox.ts `claimedItemsSql`): a woken session's turn begins without further round trips.
 */
export async function claimSession(
  em: EntityManager,
  sessionId: string,
  owner: string,
  leaseMs: number,
  scope: LeaseScope = {},
  excludeTenants: readonly string[] = [],
): Promise<Claimed | undefined> {
  const s = scopeSql(scope, excludeTenants);
  const [row] = await rows(
    em,
    claimedWithItemsRow,
    `with claimed as (
       update chat_session s set ${lease} from tenant t
       where s.id = ? and t.id = s.tenant_id and ${free} and ${pending}${s.sql}
       returning s.id, s.tenant_id as "tenantId", t.ai_max_concurrency as cap
     ), ${claimedItemsSql.ctes}
     select c.id, c."tenantId", c.cap, ${claimedItemsSql.items} as items, ${claimedItemsSql.startedId} as "startedId" from claimed c`,
    [owner, leaseMs, sessionId, ...s.params, owner],
  );
  return row;
}

/**
 * Takes the leases of up to `limit` sessions that have pending items and no live holder (new
 * work that nobody took, or sessions of a process that died), fairly between tenants: each
 * tenant's sessions are ranked by their oldest waiting item and taken round-robin by rank, and
 * no tenant gets more than its model cap plus `headroom` sessions in this process (`running`
 * counts those it already has). Sessions another process takes at the same moment are skipped
 * (the UPDATE checks the lease again).
 */
export async function claimWaiting(
  em: EntityManager,
  owner: string,
  leaseMs: number,
  limit: number,
  scope: LeaseScope = {},
  share: { running: Record<string, number>; headroom: number } = { running: {}, headroom: 0 },
): Promise<Claimed[]> {
  if (limit <= 0) return [];
  const s = scopeSql(scope, []);
  return rows(
    em,
    claimedRow,
    `with waiting as (
       select session_id, min(id) as first_id from turn_inbox where done_at is null group by session_id
     ), ranked as (
       select s.id, s.tenant_id, w.first_id, row_number() over (partition by s.tenant_id order by w.first_id) as rank
       from chat_session s join waiting w on w.session_id = s.id
       where ${free}${s.sql}
     ), candidates as (
       select r.id from ranked r join tenant t on t.id = r.tenant_id
       where r.rank <= t.ai_max_concurrency + ?::int - coalesce((?::jsonb ->> r.tenant_id::text)::int, 0)
       order by r.rank, r.first_id limit ?
     )
     update chat_session s set ${lease} from candidates c, tenant t
     where s.id = c.id and t.id = s.tenant_id and ${free}
     returning s.id, s.tenant_id as "tenantId", t.ai_max_concurrency as cap`,
    [...s.params, share.headroom, JSON.stringify(share.running), limit, owner, leaseMs],
  );
}

const releasedRow = z.object({ released: z.boolean() });

/** Extends the leases `owner` still holds among `sessionIds`; returns those it still holds. */
export async function renewLeases(
  em: EntityManager,
  owner: string,
  sessionIds: string[],
  leaseMs: number,
): Promise<Set<string>> {
  if (sessionIds.length === 0) return new Set();
  const renewed = await rows(
    em,
    idRow,
    `update chat_session set lease_expires_at = now() + make_interval(secs => ?::float8 / 1000)
     where lease_owner = ? and id = any(?::uuid[]) returning id`,
    [leaseMs, owner, pgArray(sessionIds)],
  );
  return new Set(renewed.map((r) => r.id));
}

/**
 * Gives a drained session's lease up — only when no item is pending, in the same statement, so
 * an item added meanwhile is never stranded: false means "more came in, go on draining". True
 * also when the lease is not this owner's any more (nothing left to drain here).
 */
export async function releaseSession(em: EntityManager, sessionId: string, owner: string): Promise<boolean> {
  const [row] = await rows(
    em,
    releasedRow,
    `with released as (
       update chat_session s set lease_owner = null, lease_expires_at = null
       where s.id = ? and s.lease_owner = ? and not ${pending} returning s.id
     )
     select exists (select 1 from released) or not exists (select 1 from chat_session where id = ? and lease_owner = ?) as released`,
    [sessionId, owner, sessionId, owner],
  );
  return row?.released ?? true;
}

/** Ends leases at once, changing nothing else, and wakes lease holders elsewhere to take the sessions. */
export async function releaseLeases(em: EntityManager, owner: string, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  await em.execute(
    `with released as (update chat_session set lease_owner = null, lease_expires_at = null where lease_owner = ? and id = any(?::uuid[]) returning id)
     select pg_notify('${TURN_CHANNEL}', id::text) from released`,
    [owner, pgArray(sessionIds)],
  );
}

/**
 * Hands sessions back at shutdown: their leases end now, the items this owner had started do
 * not count as an attempt (they were stopped, not cut off by a crash), and lease holders
 * elsewhere are woken to take them over.
 */
export async function handBack(em: EntityManager, owner: string, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  await em.transactional(async (tx) => {
    await tx.execute(
      `update turn_inbox set attempts = greatest(attempts - 1, 0), started_by = null
       where session_id = any(?::uuid[]) and done_at is null and started_by = ?`,
      [pgArray(sessionIds), owner],
    );
    await releaseLeases(tx, owner, sessionIds);
  });
}
