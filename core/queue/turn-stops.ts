import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { pgArray, rows } from '../db/sql.ts';

/*
 * Stop requests (docs/design.md §12): stored on the session's unfinished inbox items, the only
 * writer of `turn_inbox.stop_requested_at` / `stopped_by`, and signalled by NOTIFY to whichever
 * process holds the session's lease (turn-runner.ts aborts the item's signal). The row is the
 * truth: a drain that starts a stopped item, or looks after an abort, reads it there.
 */

/** NOTIFY channel of stop requests: the payload is `<session id> <item id>`. */
export const STOP_CHANNEL = 'renderbot_stops';

/** What `requestStop` found: items it marked stopped, and unfinished items the caller may not stop. */
export type StopRequested = { stopped: number; refused: number };

const stopRow = z.object({ stopped: z.number(), refused: z.number() });
const stoppedByRow = z.object({ stoppedBy: z.string() });

/**
 * Marks the session's unfinished requests (messages and follow-ups, not history notes) that
 * `by` may stop — those `by.userId` asked, or all of them when `by.anyone`; only `at.itemIds` when given — as stopped by
 * `by.name`, and NOTIFYs each at commit; one statement. Tenant-checked: another tenant's session
 * has no items here. Items already stopped are left as they are.
 */
export async function requestStop(
  em: EntityManager,
  at: { tenantId: string; sessionId: string; itemIds?: readonly string[] },
  by: { userId: string; anyone: boolean; name: string },
): Promise<StopRequested> {
  const [row] = await rows(
    em,
    stopRow,
    `with target as (
       select id, session_id, (payload->'turn'->>'userId' = ?::text or ?::boolean) as may from turn_inbox
       where tenant_id = ? and session_id = ? and done_at is null and stop_requested_at is null and payload->'turn' is not null
         and (?::bigint[] is null or id = any(?::bigint[]))
     ), stopped as (
       update turn_inbox i set stop_requested_at = now(), stopped_by = ? from target t where i.id = t.id and t.may
       returning i.id, i.session_id
     ), notified as (
       select pg_notify('${STOP_CHANNEL}', session_id::text || ' ' || id::text) from stopped
     )
     select (select count(*)::int from stopped) as stopped, (select count(*)::int from target where not may) as refused,
            (select count(*)::int from notified) as notified`,
    [
      by.userId,
      by.anyone,
      at.tenantId,
      at.sessionId,
      at.itemIds ? pgArray(at.itemIds) : null,
      at.itemIds ? pgArray(at.itemIds) : null,
      by.name,
    ],
  );
  return { stopped: row?.stopped ?? 0, refused: row?.refused ?? 0 };
}

const stoppedItemRow = z.object({ sessionId: z.string(), id: z.string() });

/** Unfinished items of these sessions whose stop was asked for (for a runner that may have missed the NOTIFY). */
export async function stoppedItems(
  em: EntityManager,
  sessionIds: readonly string[],
): Promise<{ sessionId: string; id: string }[]> {
  return rows(
    em,
    stoppedItemRow,
    `select session_id::text as "sessionId", id::text as id from turn_inbox
     where session_id = any(?::uuid[]) and done_at is null and stop_requested_at is not null`,
    [pgArray(sessionIds)],
  );
}

/** Who stopped one of these items, when one was stopped. */
export async function stoppedBy(em: EntityManager, ids: readonly string[]): Promise<string | undefined> {
  const [row] = await rows(
    em,
    stoppedByRow,
    `select stopped_by as "stoppedBy" from turn_inbox where id = any(?::bigint[]) and stop_requested_at is not null and stopped_by is not null limit 1`,
    [pgArray(ids)],
  );
  return row?.stoppedBy;
}

/** Parses a STOP_CHANNEL payload; undefined for anything else. */
export function parseStopNotice(payload: string): { sessionId: string; itemId: string } | undefined {
  const m = /^([0-9a-f-]{36}) (\d{1,19})$/.exec(payload);
  return m ? { sessionId: m[1]!, itemId: m[2]! } : undefined;
}
