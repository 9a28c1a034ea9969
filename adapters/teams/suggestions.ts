import { SUGGESTION_DATA_KEY, type OutgoingMessage } from './activity.ts';

/*
 * Suggested next messages in Teams (docs/design.md §12), rendered (pure). In a personal chat they
 * are the message's suggested actions (imBack: the click sends the text as the person's message;
 * Teams shows at most three and removes them once one is chosen). In channels and group chats
 * they are card buttons (Action.Submit as messageBack): the text shows as the person's message
 * and reaches the bot with the card's id (`replyToId`) and the suggestion's index, so a double
 * click is one message (activity.ts `eventIdOf`).
 */

/** Teams shows at most three suggested actions. */
const MAX_TEAMS_SUGGESTIONS = 3;

/** Where a reply goes: a one-on-one chat with the bot, or a channel or group chat. */
export type TeamsScope = 'personal' | 'shared';

export function suggestedActions(suggestions: readonly string[]): NonNullable<OutgoingMessage['suggestedActions']> {
  return {
    actions: suggestions.slice(0, MAX_TEAMS_SUGGESTIONS).map((text) => ({ type: 'imBack', title: text, value: text })),
  };
}

/**
 * The card's buttons for `suggestions`: an ActionSet at the end of the card body (none without
 * suggestions). `inert` makes the text shown (title, the message's display text) inert card text;
 * the text the bot receives is the suggestion as it is.
 */
export function suggestionActionSet(
  suggestions: readonly string[] | undefined,
  inert: (text: string) => string,
): Record<string, unknown>[] {
  if (!suggestions?.length) return [];
  return [
    {
      type: 'ActionSet',
      actions: suggestions.slice(0, MAX_TEAMS_SUGGESTIONS).map((text, i) => ({
        type: 'Action.Submit',
        title: inert(text),
        data: { [SUGGESTION_DATA_KEY]: i, msteams: { type: 'messageBack', text, displayText: inert(text) } },
      })),
    },
  ];
}

/** The scope of a stored conversation reference (personal chats carry `conversationType: personal`). */
export function scopeOf(conversationReference: Record<string, unknown>): TeamsScope {
  const conversation = conversationReference.conversation as { conversationType?: unknown } | undefined;
  return conversation?.conversationType === 'personal' ? 'personal' : 'shared';
}
