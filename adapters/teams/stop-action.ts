import type { CardElement } from './render.ts';

/** The `Action.Execute` verb of the Stop action on a "working on it" card (docs/design.md §12). */
export const STOP_VERB = 'renderbot.stop';

/**
 * The Stop action for a card that stands in for a running turn: Teams sends its data back in an
 * `adaptiveCard/action` invoke (adapters/teams/invoke.ts), so the session id is ours, not typed.
 */
export function stopAction(sessionId: string): CardElement {
  return { type: 'Action.Execute', title: 'Stop', verb: STOP_VERB, data: { sessionId } };
}
