import type { Actor } from '../context.ts';
import type { EntityManager } from '../db/orm.ts';
import { requestStop } from '../queue/turn-stops.ts';
import { hasRole } from '../tenancy/roles.ts';

/** What a stop request came to, with the one sentence the person who asked is told (none when the stopped turn says it). */
export type StopOutcome =
  | { status: 'stopping' }
  | { status: 'idle'; text: string }
  | { status: 'refused'; text: string };

export const NOTHING_TO_STOP_TEXT = 'Nothing is running in this conversation.';
export const STOP_REFUSED_TEXT = 'Only the person who asked, or an operator, can stop this.';

/**
 * Asks the turn(s) running or waiting in `sessionId` to stop (docs/design.md §12): stored and
 * signalled to the lease holder in one statement (core/queue/turn-stops.ts), never through the
 * session's inbox, so it does not wait behind the turn it stops. The person who asked may stop
 * their own request; operators and admins of the session's tenant any. Tenant-checked: another
 * tenant's session has nothing to stop.
 */
export async function stopSession(em: EntityManager, actor: Actor, sessionId: string): Promise<StopOutcome> {
  const name = actor.name?.trim() || actor.userId;
  const done = await requestStop(em, { tenantId: actor.tenantId, sessionId }, { userId: actor.userId, anyone: hasRole(actor.role, 'operator'), name });
  if (done.stopped > 0) return { status: 'stopping' };
  if (done.refused > 0) return { status: 'refused', text: STOP_REFUSED_TEXT };
  return { status: 'idle', text: NOTHING_TO_STOP_TEXT };
}

/**
 * The note a stopped turn ends with where its answer would have gone: "Stopped by <name>.", after
 * what a confirmed plan already did when a follow-up was stopped (a committed write stays and is
 * reported). The model sees it without the name: a display name is data, not the agent's words.
 */
export function stoppedText(name: string, job: { kind: 'message' } | { kind: 'followup'; fallback: string }): { text: string; history: string } {
  const who = name || 'someone';
  const before = job.kind === 'followup' && job.fallback ? `${job.fallback}\n\n` : '';
  return { text: `${before}Stopped by ${who}.`, history: `${before}(Stopped by a person in this conversation before the answer was finished.)` };
}
