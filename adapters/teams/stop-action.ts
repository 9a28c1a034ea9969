/**
 * The `Action.Execute` verb of a Stop action on a card that stands in for a running turn
 * (docs/design.md §12): `{ type: 'Action.Execute', title: 'Stop', verb: STOP_VERB, data: { sessionId } }`.
 * Teams sends the data back in an `adaptiveCard/action` invoke (adapters/teams/invoke.ts), so the
 * session id is ours, not typed by the person.
 */
export const STOP_VERB = 'renderbot.stop';

/** The Stop action of the card that shows a running turn's steps in a channel or group chat. */
export function stopActionSet(sessionId: string): Record<string, unknown> {
  return {
    type: 'ActionSet',
    actions: [{ type: 'Action.Execute', title: 'Stop', verb: STOP_VERB, data: { sessionId } }],
  };
}
