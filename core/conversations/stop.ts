import type { Actor } from '../turn-scope.ts';
import type { EntityManager } from '../db/orm.ts';
import { requestStop } from '../queue/turn-stops.ts';
import { hasRole } from '../tenancy/roles.ts';
import { NOTHING_TO_STOP_TEXT, STOP_REFUSED_TEXT, type StopOutcome } from './stop-texts.ts';

/**
 * Asks the turn(s) running or waiting in `sessionId` to stop (docs/design.md §12): stored and
 * signalled to the lease holder in one statement (core/queue/turn-stops.ts), never through the
 * session's inbox, so it does not wait behind the turn it stops. The person who asked may stop
 * their own request; operators and admins of the session's tenant any. Tenant-checked: another
 * tenant's session has nothing to stop.
 */
export async function stopSession(em: EntityManager, actor: Actor, sessionId: string): Promise<StopOutcome> {
  const name = actor.name?.trim() || actor.userId;
  const done = await requestStop(
    em,
    { tenantId: actor.tenantId, sessionId },
    { userId: actor.userId, anyone: hasRole(actor.role, 'operator'), name },
  );
  if (done.stopped > 0) return { status: 'stopping' };
  if (done.refused > 0) return { status: 'refused', text: STOP_REFUSED_TEXT };
  return { status: 'idle', text: NOTHING_TO_STOP_TEXT };
}

/**
 * The platform's own stop of a streamed answer (Teams refuses the next streaming call once the
 * person pressed Stop; only the person in that personal chat sees the button): stops exactly the
 * items that were streaming, with no name to show ("Stopped.").
 */
export async function stopStreamed(
  em: EntityManager,
  at: { tenantId: string; sessionId: string; itemIds: readonly string[] },
): Promise<void> {
  await requestStop(em, at, { userId: '', anyone: true, name: '' });
}
