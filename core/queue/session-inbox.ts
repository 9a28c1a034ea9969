import { z } from 'zod';
import { sql, type RawBuilder } from 'kysely';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { idRow, pgArray, rows } from '../db/sql.ts';

/*
 * Per-session inbox (docs/design.md §4). Work for a session — a person's message, a confirmed plan's
 * follow-up, a note for the history — waits in `turn_inbox` in arrival order. Whoever holds the
 * session's lease (session-lease.ts) runs the items one at a time: an item is started (attempts
 * counted), records how far it got (progress), and is marked done with its replies. Nothing is
 * removed before it ran, so a turn cut off by a crash is picked up again by the next lease holder.
 */

/** NOTIFY channel that wakes lease holders: the payload is the session id. */
export const TURN_CHANNEL = 'renderbot_turns';
/** NOTIFY channel that tells waiting callers (web requests) that an item is done: the payload is its id. */
export const TURN_DONE_CHANNEL = 'renderbot_turn_done';

/** One queued unit of work: a task name the drain dispatches on and its payload. */
export type InboxItem = { task: string; payload: unknown };

/**
 * A platform event id recorded as handled in `inbound_event` with the item (a request stored
 * before its acknowledgement is marked handled); a second submit of it adds nothing.
 */
export type InboundEvent = { platform: string; eventId: string };

/** How far a started item got: where its messages begin, what it streamed and delivered. */
const itemProgressSchema = z.object({
  /** The turn's own messages have a larger `seq` (for a message turn: its stored user message). */
  fromSeq: z.string().optional(),
  /** The message the answer was streamed into (the final reply replaces it). */
  stream: z.record(z.string(), z.unknown()).optional(),
  /** Replies already delivered, by their index. */
  sent: z.record(z.string(), z.record(z.string(), z.unknown()).nullable()).optional(),
});
export type ItemProgress = z.infer<typeof itemProgressSchema>;

const itemRowSchema = z.object({
  id: z.string(),
  task: z.string(),
  payload: z.unknown(),
  attempts: z.number(),
  started: z.boolean(),
  progress: itemProgressSchema,
  /** When it entered the inbox (ms since the epoch, the database's clock). */
  createdMs: z.coerce.number(),
  /** Who stopped it (turn-stops.ts); null when nobody did. */
  stoppedBy: z.string().nullable(),
});
/** A pending item as the drain sees it; `attempts` counts how often it was started. */
export type InboxRow = z.infer<typeof itemRowSchema>;

/**
 * Adds an item to a session's inbox and wakes lease holders (NOTIFY, sent at commit), in one
 * statement — so in the caller's transaction, if any. With `event`, the item is only added when
 * the event was not handled before (new, or stored but not yet handled: `inbound-requests.ts`),
 * and the event is marked handled with it. Returns the item's id, or undefined for an event
 * handled already.
 */
export async function submitToSession(
  em: EntityManager,
  to: { tenantId: string; sessionId: string },
  item: InboxItem,
  event?: InboundEvent,
): Promise<string | undefined> {
  const added = await rows(
    em,
    idRow,
    `with fresh as (
       insert into inbound_event (platform, event_id, tenant_id, handled_at) select ?::text, ?::text, ?::uuid, now() where ?::boolean
       on conflict (platform, event_id) do update set handled_at = now(), tenant_id = excluded.tenant_id, request = null
         where inbound_event.handled_at is null
       returning 1
     ), item as (
       insert into turn_inbox (tenant_id, session_id, task, payload)
       select ?::uuid, ?::uuid, ?::text, ?::jsonb where not ?::boolean or exists (select 1 from fresh)
       returning id, session_id
     )
     select id::text, pg_notify('${TURN_CHANNEL}', session_id::text) from item`,
    [
      event?.platform ?? null,
      event?.eventId ?? null,
      to.tenantId,
      Boolean(event),
      to.tenantId,
      to.sessionId,
      item.task,
      JSON.stringify(item.payload),
      Boolean(event),
    ],
  );
  return added[0]?.id;
}

/** How many pending items a drain reads at once. */
const PENDING_LIMIT = 50;

/**
 * For a lease claim's statement (session-lease.ts), so taking a session costs one round trip:
 * CTEs on the CTE `claimed` (column `id`, at most one session) that read its pending items and,
 * when exactly one is pending, start it for `owner` (`?`, the statement's next parameter) as
 * `startItems` would — the drain starts that item first anyway, and the attempt is counted before
 * anything runs. `items` is the JSON array of the items (`inboxRowsSchema`) as the drain reads them,
 * `startedId` the id of the item it started (or null).
 */
export const claimedItemsSql = {
  ctes: `waiting as (
       select i.* from turn_inbox i join claimed c on i.session_id = c.id where i.done_at is null order by i.id limit ${PENDING_LIMIT}
     ), started as (
       update turn_inbox i set attempts = i.attempts + 1, started_at = now(), started_by = ?
       where i.id = (select min(id) from waiting having count(*) = 1) and i.done_at is null
       returning i.id, i.attempts
     )`,
  items: `coalesce((select json_agg(json_build_object(
       'id', w.id::text, 'task', w.task, 'payload', w.payload, 'attempts', coalesce(st.attempts, w.attempts),
       'started', st.id is not null or w.started_at is not null, 'progress', w.progress,
       'createdMs', (extract(epoch from w.created_at) * 1000)::float8,
       'stoppedBy', case when w.stop_requested_at is not null then coalesce(w.stopped_by, '') end) order by w.id)
     from waiting w left join started st on st.id = w.id), '[]'::json)`,
  startedId: `(select id::text from started)`,
};
export const inboxRowsSchema = z.array(itemRowSchema);
/** A session's pending items as a lease claim read them, and the one it started (`startedId`), if any. */
export type ClaimedItems = { items: InboxRow[]; startedId: string | null };

/** The session's items that are not done, oldest first. */
export async function pendingItems(em: EntityManager, sessionId: string, limit = PENDING_LIMIT): Promise<InboxRow[]> {
  return rows(
    em,
    itemRowSchema,
    `select i.id::text as id, i.task, i.payload, i.attempts, i.started_at is not null as started, i.progress,
            (extract(epoch from i.created_at) * 1000)::float8 as "createdMs",
            case when i.stop_requested_at is not null then coalesce(i.stopped_by, '') end as "stoppedBy"
     from turn_inbox i where i.session_id = ? and i.done_at is null order by i.id limit ?`,
    [sessionId, limit],
  );
}

/** Marks items started by lease holder `owner` (one more attempt each); returns the highest attempt count among them. */
const attemptsRow = z.object({ attempts: z.number() });
const progressRow = z.object({ progress: z.unknown() });
const storedProgress = itemProgressSchema.catch({});
const finishedRow = z.object({ finished: z.number(), released: z.boolean() });
const resultRow = z.object({ done: z.boolean(), result: z.unknown(), progress: z.unknown() });
const oneRow = z.object({ one: z.number() });

export async function startItems(em: EntityManager, ids: string[], owner: string): Promise<number> {
  const started = await rows(
    em,
    attemptsRow,
    `update turn_inbox set attempts = attempts + 1, started_at = now(), started_by = ? where id = any(?::bigint[]) and done_at is null returning attempts`,
    [owner, pgArray(ids)],
  );
  return Math.max(0, ...started.map((r) => r.attempts));
}

/** An item's progress as stored now (it changes while the item runs). */
export async function readProgress(em: EntityManager, id: string): Promise<ItemProgress> {
  const [row] = await rows(em, progressRow, `select progress from turn_inbox where id = ?`, [id]);
  return storedProgress.parse(row?.progress ?? {});
}

/** Merges `patch` into the items' progress (in the caller's transaction, if any). */
export async function saveProgress(em: EntityManager, ids: string[], patch: ItemProgress): Promise<void> {
  await em.execute(`update turn_inbox set progress = progress || ?::jsonb where id = any(?::bigint[])`, [
    JSON.stringify(patch),
    pgArray(ids),
  ]);
}

/**
 * Marks items done with the replies they produced — only while `lease` (session and owner) is
 * still held, so a process that lost its lease cannot finish what another now drives — and
 * tells callers waiting on them (web requests, the terminal; NOTIFY at commit). When nothing
 * else of the session is pending, the lease is given up in the same statement (a drained
 * session costs no extra round trip; an item added meanwhile wakes lease holders by NOTIFY).
 * Returns how many items it marked and whether it released the lease.
 */
export async function finishItems(
  em: EntityManager,
  ids: string[],
  result: unknown,
  lease: { sessionId: string; owner: string },
): Promise<{ finished: number; released: boolean }> {
  const [row] = await rows(
    em,
    finishedRow,
    `with done as (
       update turn_inbox set done_at = now(), result = ?::jsonb
       where id = any(?::bigint[]) and done_at is null
         and exists (select 1 from session_lease where session_id = ? and owner = ?)
       returning id, payload
     ), notified as (
       select pg_notify('${TURN_DONE_CHANNEL}', id::text) from done where payload->'delivery'->>'platform' in ('web', 'cli')
     ), released as (
       delete from session_lease l
       where l.session_id = ? and l.owner = ? and exists (select 1 from done)
         and not exists (select 1 from turn_inbox i where i.session_id = l.session_id and i.done_at is null and i.id <> all(?::bigint[]))
       returning l.session_id
     )
     select (select count(*)::int from done) as finished, (select count(*) from notified) as notified, exists (select 1 from released) as released`,
    [
      JSON.stringify(result ?? null),
      pgArray(ids),
      lease.sessionId,
      lease.owner,
      lease.sessionId,
      lease.owner,
      pgArray(ids),
    ],
  );
  return { finished: row?.finished ?? 0, released: row?.released ?? false };
}

/** An item's state for a caller waiting on it: done or not, its replies and progress; undefined when unknown. */
export async function itemResult(
  em: EntityManager,
  id: string,
): Promise<{ done: boolean; result: unknown; progress: ItemProgress } | undefined> {
  const [row] = await rows(
    em,
    resultRow,
    `select done_at is not null as done, result, progress from turn_inbox where id = ?`,
    [id],
  );
  return row ? { ...row, progress: storedProgress.parse(row.progress) } : undefined;
}

/** Deletes done items older than `olderThanSeconds` (their callers stopped waiting long ago). */
export async function pruneDoneItems(em: EntityManager, olderThanSeconds: number): Promise<number> {
  const pruned = await rows(
    em,
    oneRow,
    `delete from turn_inbox where done_at < now() - make_interval(secs => ?) returning 1 as one`,
    [olderThanSeconds],
  );
  return pruned.length;
}

/**
 * The inbox items a turn answers record that its own messages come after `fromSeq`: an update
 * for a CTE of the turn's first statement (core/history/messages.ts), so it costs no round trip.
 */
export function recordTurnStart(
  em: EntityManager,
  sessionId: string,
  inboxItems: readonly string[],
  fromSeq: RawBuilder<string>,
) {
  return db(em)
    .updateTable('turn_inbox')
    .set({ progress: sql`progress || jsonb_build_object('fromSeq', ${fromSeq})` })
    .where(sql<boolean>`id = any(${pgArray(inboxItems)}::bigint[])`)
    .where('session', '=', sessionId)
    .returning('id');
}
