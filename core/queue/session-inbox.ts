import { z } from 'zod';
import type { PoolClient } from 'pg';
import type { Task } from 'graphile-worker';
import type { EntityManager } from '../db/orm.ts';
import type { Logger } from '../logger.ts';

/**
 * Per-session serial queue (DESIGN §4): items wait in `turn_inbox`; a `session_turns` job drains
 * one session's items in arrival order while it holds that session's advisory lock, so turns of
 * one session never overlap, also across worker processes. The jobs themselves sit in no named
 * queue (graphile-worker locks every named-queue row on each fetch, and keeps one per session).
 */
export const SESSION_DRAIN_TASK = 'session_turns';

/** One queued unit of work: a task name the drain dispatches on and its payload. */
export type InboxItem = { task: string; payload: unknown };

/** Runs one item; a throw is logged and the drain goes on with the next item. */
export type InboxHandlers = Record<string, (payload: unknown) => Promise<void>>;

/**
 * Tasks whose waiting items are taken together: an item of such a task comes with every item
 * of the same task queued right behind it (up to the next item of another task), oldest first.
 */
export type InboxBatchHandlers = Record<string, (payloads: unknown[]) => Promise<void>>;

const drainJobSchema = z.object({ sessionId: z.uuid() });
const itemRowSchema = z.object({ id: z.string(), task: z.string(), payload: z.unknown() });
type ItemRow = z.infer<typeof itemRowSchema>;

/** An event id recorded in `inbound_event` with the item; a second submit of it adds nothing. */
export type InboundEvent = { platform: string; eventId: string };

/**
 * Adds an item to a session's inbox and makes sure a drain job is pending, in one statement (so
 * in the caller's transaction, if any). With `event`, the item is only added when the event is
 * new; returns false for a redelivered event.
 */
export async function submitToSession(em: EntityManager, to: { tenantId: string; sessionId: string }, item: InboxItem, event?: InboundEvent): Promise<boolean> {
  const rows = await em.execute(
    `with fresh as (
       insert into inbound_event (platform, event_id, tenant_id) select ?::text, ?::text, ?::uuid where ?::boolean
       on conflict do nothing returning 1
     ), item as (
       insert into turn_inbox (tenant_id, session_id, task, payload)
       select ?::uuid, ?::uuid, ?::text, ?::jsonb where not ?::boolean or exists (select 1 from fresh)
       returning session_id
     )
     select ${addDrainJob('item.session_id')} from item`,
    [event?.platform ?? null, event?.eventId ?? null, to.tenantId, Boolean(event),
      to.tenantId, to.sessionId, item.task, JSON.stringify(item.payload), Boolean(event)],
  );
  return (rows as unknown[]).length > 0;
}

/**
 * Adds a drain job for every session whose inbox has items older than `olderThanSeconds`: items
 * a crashed process left behind (their job ran and died). Sessions drained right now are skipped
 * by the job itself; the per-session job key keeps it to one pending job each.
 */
export async function requeueWaiting(em: EntityManager, olderThanSeconds: number): Promise<number> {
  const rows = await em.execute(
    `select ${addDrainJob('s.session_id')} from (select distinct session_id from turn_inbox where created_at <= now() - make_interval(secs => ?)) s`,
    [olderThanSeconds],
  );
  return (rows as unknown[]).length;
}

function addDrainJob(sessionIdSql: string): string {
  return `graphile_worker.add_job('${SESSION_DRAIN_TASK}', json_build_object('sessionId', ${sessionIdSql}),
    job_key => 'session:' || ${sessionIdSql}, job_key_mode => 'preserve_run_at', max_attempts => 1)`;
}

/**
 * The `session_turns` task. It takes the session's lock without waiting: when another drain holds
 * it, that drain runs the items, and it looks at the inbox again after it let go, so an item
 * added meanwhile is never stranded. Items are removed before they run: a process that dies
 * mid-turn loses that turn (as a job with one attempt would), never answers it twice.
 */
export function createSessionDrain(handlers: InboxHandlers, log: Logger, batches: InboxBatchHandlers = {}): Task {
  return async (payload, helpers) => {
    const { sessionId } = drainJobSchema.parse(payload);
    const aborted = () => helpers.abortSignal.aborted;
    await helpers.withPgClient(async (client) => {
      while (!aborted()) {
        const first = await lockAndTake(client, sessionId);
        if (!first.locked) return;
        let held = true;
        try {
          for (let item = first.item; item;) {
            if (batches[item.task]) await runBatch(batches[item.task]!, log, sessionId, [item, ...await takeFollowing(client, sessionId, item.task)]);
            else await runItem(handlers, log, sessionId, item);
            if (aborted()) break;
            item = await takeOrUnlock(client, sessionId);
            if (!item) held = false;
          }
        } finally {
          if (held) await unlock(client, sessionId);
        }
        // A fresh look after letting go: an item added while we held the lock may have had its drain job give up.
        if (!(await hasItems(client, sessionId))) return;
      }
    });
  };
}

async function runItem(handlers: InboxHandlers, log: Logger, sessionId: string, item: ItemRow): Promise<void> {
  const handler = handlers[item.task];
  try {
    if (!handler) throw new Error(`no handler for inbox task ${item.task}`);
    await handler(item.payload);
  } catch (err) {
    log.error({ err, sessionId, task: item.task, itemId: item.id }, 'queued turn failed');
  }
}

async function runBatch(handler: InboxBatchHandlers[string], log: Logger, sessionId: string, items: ItemRow[]): Promise<void> {
  try {
    await handler(items.map((i) => i.payload));
  } catch (err) {
    log.error({ err, sessionId, task: items[0]!.task, itemIds: items.map((i) => i.id) }, 'queued turn failed');
  }
}

/** Deletes and returns the session's items of `task` queued before its next item of another task, oldest first. */
async function takeFollowing(client: PoolClient, sessionId: string, task: string): Promise<ItemRow[]> {
  const { rows } = await client.query(
    `delete from turn_inbox where session_id = $1::uuid and task = $2
       and id < coalesce((select min(id) from turn_inbox where session_id = $1::uuid and task <> $2), 9223372036854775807)
     returning id::text, task, payload`,
    [sessionId, task],
  );
  return rows.map((r) => itemRowSchema.parse(r)).sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

const LOCK_KEY = `hashtext('turn_inbox'), hashtext($1::text)`;
/** Deletes and returns the session's oldest item; `gate` adds a condition (the lock). */
const nextItem = (gate = '') => `delete from turn_inbox where id = (select id from turn_inbox where session_id = $1::uuid ${gate} order by id limit 1) returning id, task, payload`;

/** Tries the session lock and, when it got it, takes the oldest item — one round trip. */
async function lockAndTake(client: PoolClient, sessionId: string): Promise<{ locked: boolean; item?: ItemRow }> {
  const { rows } = await client.query(
    `with lock as (select pg_try_advisory_lock(${LOCK_KEY}) as locked),
     next as (${nextItem('and (select locked from lock)')})
     select lock.locked, next.id::text, next.task, next.payload from lock left join next on true`,
    [sessionId],
  );
  const row = rows[0] as { locked: boolean; id: string | null };
  return { locked: row.locked, ...(row.id ? { item: itemRowSchema.parse(row) } : {}) };
}

/** Takes the next item, or — when there is none — releases the session lock in the same round trip. */
async function takeOrUnlock(client: PoolClient, sessionId: string): Promise<ItemRow | undefined> {
  const { rows } = await client.query(
    `with next as (${nextItem()})
     select next.id::text, next.task, next.payload, (select pg_advisory_unlock(${LOCK_KEY}) where not exists (select 1 from next)) as unlocked
     from (select 1) one left join next on true`,
    [sessionId],
  );
  const row = rows[0] as { id: string | null };
  return row.id ? itemRowSchema.parse(row) : undefined;
}

async function unlock(client: PoolClient, sessionId: string): Promise<void> {
  await client.query(`select pg_advisory_unlock(${LOCK_KEY})`, [sessionId]);
}

async function hasItems(client: PoolClient, sessionId: string): Promise<boolean> {
  const { rows } = await client.query(`select 1 from turn_inbox where session_id = $1 limit 1`, [sessionId]);
  return rows.length > 0;
}
