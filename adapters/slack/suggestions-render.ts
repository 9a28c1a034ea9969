import type { types as slack } from '@slack/bolt';
import { isDmChannel } from './session.ts';

/*
 * Suggested next messages in Slack (docs/design.md §12), rendered. In an AI app thread they are
 * the thread's suggested prompts (assistant.threads.setSuggestedPrompts: up to four, each a title
 * and the message it sends); elsewhere they are buttons under the answer (suggestions.ts handles
 * their clicks).
 */

/** Buttons' action ids: this prefix and the suggestion's index (ids must differ within a block). */
export const SUGGESTION_ACTION_PREFIX = 'renderbot.suggest.';
export const SUGGESTIONS_BLOCK_ID = 'renderbot.suggestions';
/** Block Kit: a button's text is at most 75 characters, its value at most 2,000. */
export const MAX_BUTTON_TEXT = 75;
const MAX_BUTTON_VALUE = 2000;
/** assistant.threads.setSuggestedPrompts takes at most four prompts. */
const MAX_ASSISTANT_PROMPTS = 4;
export const PROMPTS_TITLE = 'Next steps';
/** The title of a new AI app thread's prompts (from the tenant's state). */
export const STARTERS_TITLE = 'Where to start';

const shorten = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The buttons block for `suggestions` (plain text: never parsed as mrkdwn, no emoji codes). Pure. */
export function suggestionButtons(suggestions: readonly string[] | undefined): slack.KnownBlock[] {
  if (!suggestions?.length) return [];
  return [
    {
      type: 'actions',
      block_id: SUGGESTIONS_BLOCK_ID,
      elements: suggestions.map((text, i) => ({
        type: 'button',
        action_id: `${SUGGESTION_ACTION_PREFIX}${i}`,
        text: { type: 'plain_text', text: shorten(text, MAX_BUTTON_TEXT), emoji: false },
        value: text.slice(0, MAX_BUTTON_VALUE),
      })),
    },
  ];
}

/** The prompts of an AI app thread for `suggestions` (the title shown is the message sent). Pure. */
export function assistantPrompts(suggestions: readonly string[]): { title: string; message: string }[] {
  return suggestions.slice(0, MAX_ASSISTANT_PROMPTS).map((text) => ({ title: text, message: text }));
}

/** Whether replies in `target` go to an AI app thread (a thread of the app's DM), where prompts replace buttons. */
export const isAssistantThread = (target: { channel: string; threadTs?: string | undefined }) =>
  isDmChannel(target.channel) && Boolean(target.threadTs);
