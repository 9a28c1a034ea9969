import type { EntityManager } from '../db/orm.ts';
import { z } from 'zod';
import { idRow, pgArray, rows } from '../db/sql.ts';
import { claimedItemsSql, inboxRowsSchema, TURN_CHANNEL, type ClaimedItems } from './session-inbox.ts';

/*
 * Session leases (docs/design.md §4): one process drives a session at a time — the one whose id is
 * the `owner` of the session's `session_lease` row while `expires_at` is in the future. No row, or
 * an expired one, means the session is free; giving a lease up deletes its row. The holder renews
 * the lease while its turns run; nothing is held on a connection, so waiting on the model costs
 * none. A process that dies stops renewing, and once its leases expire any live process takes the
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

/** Whether session `s` has no live lease (`l`, left joined). */
const free = `(l.session_id is null or l.expires_at < now())`;
const pending = (sessionId: string) =>
  `exists (select 1 from turn_inbox i where i.session_id = ${sessionId} and i.done_at is null)`;
/**
 * Takes the leases of the sessions in `source` (a CTE with column `id`; the owner and duration are
 * the next two parameters): a new row for a free session, or the row of an expired lease. A lease
 * live at the moment of writing is left alone, also one another process took since `source` was
 * read: PostgreSQL re-checks the WHERE on the newest row (or waits for a concurrent insert to
 * commit), so of two claims at once exactly one writes. Returns the sessions taken (`session_id`).
 */
const takeLeases = (source: string) => `insert into session_lease as l (session_id, owner, expires_at)
       select id, ?::text, now() + make_interval(secs => ?::float8 / 1000) from ${source}
       on conflict (session_id) do update set owner = excluded.owner, expires_at = excluded.expires_at
         where l.expires_at < now()
       returning l.session_id`;

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
    `with target as (
       select s.id, s.tenant_id, t.ai_max_concurrency as cap
       from chat_session s join tenant t on t.id = s.tenant_id left join session_lease l on l.session_id = s.id
       where s.id = ? and ${free} and ${pending('s.id')}${s.sql}
     ), taken as (
       ${takeLeases('target')}
     ), claimed as (
       select t.id, t.tenant_id, t.cap from target t join taken k on k.session_id = t.id
     ), ${claimedItemsSql.ctes}
     select c.id, c.tenant_id as "tenantId", c.cap, ${claimedItemsSql.items} as items, ${claimedItemsSql.startedId} as "startedId" from claimed c`,
    [sessionId, ...s.params, owner, leaseMs, owner],
  );
  return row;
}

/**
 * Takes the leases of up to `limit` sessions that have pending items and no live holder (new
 * work that nobody took, or sessions of a process that died), fairly between tenants: each
 * tenant's sessions are ranked by their oldest waiting item and taken round-robin by rank, and
 * no tenant gets more than its model cap plus `headroom` sessions in this process (`running`
 * counts those it already has). Sessions another process takes at the same moment are skipped
 * (the insert checks the lease again).
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
  // The leases are taken in session id order, the same in every process, so two claims that want
  // the same sessions wait on each other instead of deadlocking.
  return rows(
    em,
    claimedRow,
    `with waiting as (
       select session_id, min(id) as first_id from turn_inbox where done_at is null group by session_id
     ), ranked as (
       select s.id, s.tenant_id, w.first_id, row_number() over (partition by s.tenant_id order by w.first_id) as rank
       from chat_session s join waiting w on w.session_id = s.id left join session_lease l on l.session_id = s.id
       where ${free}${s.sql}
     ), candidates as (
       select r.id, r.tenant_id, t.ai_max_concurrency as cap from ranked r join tenant t on t.id = r.tenant_id
       where r.rank <= t.ai_max_concurrency + ?::int - coalesce((?::jsonb ->> r.tenant_id::text)::int, 0)
       order by r.rank, r.first_id limit ?
     ), taken as (
       ${takeLeases('candidates order by id')}
     )
     select c.id, c.tenant_id as "tenantId", c.cap from candidates c join taken k on k.session_id = c.id`,
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
    `update session_lease set expires_at = now() + make_interval(secs => ?::float8 / 1000)
     where owner = ? and session_id = any(?::uuid[]) returning session_id as id`,
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
       delete from session_lease l where l.session_id = ? and l.owner = ? and not ${pending('l.session_id')}
       returning l.session_id
     )
     select exists (select 1 from released)
       or not exists (select 1 from session_lease where session_id = ? and owner = ?) as released`,
    [sessionId, owner, sessionId, owner],
  );
  return row?.released ?? true;
}

/** Ends leases at once, changing nothing else, and wakes lease holders elsewhere to take the sessions. */
export async function releaseLeases(em: EntityManager, owner: string, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  await em.execute(
    `with released as (delete from session_lease where owner = ? and session_id = any(?::uuid[]) returning session_id)
     select pg_notify('${TURN_CHANNEL}', session_id::text) from released`,
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
