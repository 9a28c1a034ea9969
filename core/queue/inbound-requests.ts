import type pg from 'pg';
import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { rows } from '../db/sql.ts';

/*
 * Platform requests are stored before they are acknowledged (`inbound_event`): one statement
 * records the request under the platform's event id, so a retry or a replayed request is
 * recognised, and a request whose handling did not finish — the database went away half-way,
 * the process died after the acknowledgement — is replayed from the stored copy. A request is
 * handled once: its turn is queued (`submitToSession` marks it in the same statement) or the
 * adapter settled it otherwise (ignored, explained, answered directly: `markHandled`).
 */

/** A stored request due for a replay: its id, the request as stored, and how often it was replayed before. */
export type StoredRequest = { eventId: string; request: unknown; replays: number };

const storedRow = z.object({ eventId: z.string(), request: z.unknown(), replays: z.number() });
const newRow = z.object({ fresh: z.literal(1) });

/**
 * Stores a request before its acknowledgement; true when it is new, false when this event id was
 * received before (a retry or a replay: its first copy is handled, or will be). It becomes due
 * for a replay after `replayAfterSeconds` unless handled by then. Runs on `pool` — the intake's
 * own connections (core/db/intake-pool.ts), so an acknowledgement never waits behind turns.
 */
export async function storeRequest(
  pool: Pick<pg.Pool, 'query'>,
  platform: string,
  eventId: string,
  request: unknown,
  replayAfterSeconds: number,
): Promise<boolean> {
  const stored = await pool.query(
    `insert into inbound_event (platform, event_id, request, replay_at) values ($1, $2, $3::jsonb, now() + make_interval(secs => $4))
     on conflict do nothing returning 1 as fresh`,
    [platform, eventId, JSON.stringify(request), replayAfterSeconds],
  );
  return (stored.rowCount ?? 0) > 0;
}

/** Marks a stored request handled (its copy is dropped); no-op when it was handled already. */
export async function markHandled(em: EntityManager, platform: string, eventId: string): Promise<void> {
  await em.execute(
    `update inbound_event set handled_at = now(), request = null where platform = ? and event_id = ? and handled_at is null`,
    [platform, eventId],
  );
}

/**
 * Claims up to `limit` unhandled requests of `platform` that are due for a replay (skipping
 * those another process claims right now) and makes each due again only after `retrySeconds`.
 */
export async function claimReplays(
  em: EntityManager,
  platform: string,
  limit: number,
  retrySeconds: number,
): Promise<StoredRequest[]> {
  return rows(
    em,
    storedRow,
    `update inbound_event e set replay_at = now() + make_interval(secs => ?), replays = e.replays + 1
     from (select platform, event_id from inbound_event
           where platform = ? and handled_at is null and replay_at <= now()
           order by replay_at limit ? for update skip locked) due
     where e.platform = due.platform and e.event_id = due.event_id
     returning e.event_id as "eventId", e.request, e.replays - 1 as replays`,
    [retrySeconds, platform, limit],
  );
}

/** Forgets handled requests older than `olderThanSeconds` (a retry after that long is not expected). */
export async function pruneHandledRequests(em: EntityManager, olderThanSeconds: number): Promise<number> {
  const pruned = await rows(
    em,
    newRow,
    `delete from inbound_event where handled_at < now() - make_interval(secs => ?) returning 1 as fresh`,
    [olderThanSeconds],
  );
  return pruned.length;
}
