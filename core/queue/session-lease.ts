import type { EntityManager } from '../db/orm.ts';
import { countRow, idRow, pgArray, rows } from '../db/sql.ts';
import { TURN_CHANNEL } from './session-inbox.ts';

/*
 * Session leases (DESIGN §4): one process drives a session at a time — the one whose id is in
 * `chat_session.lease_owner` while `lease_expires_at` is in the future. The holder renews the
 * lease while its turns run; nothing is held on a connection, so waiting on the model costs none.
 * A process that dies stops renewing, and once its leases expire any live process takes the
 * sessions over (and resumes their started items). All times are the database's clock.
 */

/** Which sessions a runner may take: every platform but `excludePlatforms`, or only those of one thread key (a terminal's). */
export type LeaseScope = { excludePlatforms?: readonly string[]; thread?: { platform: string; key: string } };

const free = `(s.lease_owner is null or s.lease_expires_at < now())`;
const pending = `exists (select 1 from turn_inbox i where i.session_id = s.id and i.done_at is null)`;

function scopeSql(scope: LeaseScope): { sql: string; params: unknown[] } {
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
  return { sql: parts.map((p) => ` and ${p}`).join(''), params };
}

/** Takes the lease of one session that has pending items, if it is free; true when taken. */
export async function claimSession(em: EntityManager, sessionId: string, owner: string, leaseMs: number, scope: LeaseScope = {}): Promise<boolean> {
  const s = scopeSql(scope);
  const taken = await rows(em, idRow,
    `update chat_session s set lease_owner = ?, lease_expires_at = now() + make_interval(secs => ?::float8 / 1000)
     where s.id = ? and ${free} and ${pending}${s.sql} returning s.id`,
    [owner, leaseMs, sessionId, ...s.params]);
  return taken.length > 0;
}

/**
 * Takes the leases of up to `limit` sessions that have pending items and no live holder
 * (new work that nobody took, or sessions of a process that died), skipping rows another
 * process is claiming right now. Returns their ids.
 */
export async function claimWaiting(em: EntityManager, owner: string, leaseMs: number, limit: number, scope: LeaseScope = {}): Promise<string[]> {
  if (limit <= 0) return [];
  const s = scopeSql(scope);
  const claimed = await rows(em, idRow,
    `with candidates as (
       select s.id from chat_session s
       where s.id in (select session_id from turn_inbox where done_at is null) and ${free}${s.sql}
       order by s.lease_expires_at nulls first limit ? for update of s skip locked
     )
     update chat_session s set lease_owner = ?, lease_expires_at = now() + make_interval(secs => ?::float8 / 1000)
     from candidates c where s.id = c.id returning s.id`,
    [...s.params, limit, owner, leaseMs]);
  return claimed.map((r) => r.id);
}

/** Extends the leases `owner` still holds among `sessionIds`; returns those it still holds. */
export async function renewLeases(em: EntityManager, owner: string, sessionIds: string[], leaseMs: number): Promise<Set<string>> {
  if (sessionIds.length === 0) return new Set();
  const renewed = await rows(em, idRow,
    `update chat_session set lease_expires_at = now() + make_interval(secs => ?::float8 / 1000)
     where lease_owner = ? and id = any(?::uuid[]) returning id`,
    [leaseMs, owner, pgArray(sessionIds)]);
  return new Set(renewed.map((r) => r.id));
}

/**
 * Gives a drained session's lease up — only when no item is pending, in the same statement, so
 * an item added meanwhile is never stranded: false means "more came in, go on draining".
 */
export async function releaseSession(em: EntityManager, sessionId: string, owner: string): Promise<boolean> {
  const released = await rows(em, idRow,
    `update chat_session s set lease_owner = null, lease_expires_at = null
     where s.id = ? and s.lease_owner = ? and not ${pending} returning s.id`,
    [sessionId, owner]);
  if (released.length > 0) return true;
  // Not ours any more (taken over after an expiry): nothing left to drain here either.
  const [held] = await rows(em, countRow, `select count(*)::int as n from chat_session where id = ? and lease_owner = ?`, [sessionId, owner]);
  return (held?.n ?? 0) === 0;
}

/**
 * Hands sessions back at shutdown: their leases end now, the items they had started do not
 * count as an attempt (they were stopped, not interrupted by a crash), and lease holders
 * elsewhere are woken to take them over.
 */
export async function handBack(em: EntityManager, owner: string, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  await em.transactional(async (tx) => {
    const handed = await rows(tx, idRow,
      `update chat_session set lease_owner = null, lease_expires_at = null where lease_owner = ? and id = any(?::uuid[]) returning id`,
      [owner, pgArray(sessionIds)]);
    const ids = handed.map((r) => r.id);
    await tx.execute(`update turn_inbox set attempts = greatest(attempts - 1, 0) where session_id = any(?::uuid[]) and done_at is null and started_at is not null`, [pgArray(ids)]);
    await tx.execute(`select pg_notify('${TURN_CHANNEL}', id::text) from unnest(?::uuid[]) as id`, [pgArray(ids)]);
  });
}
