import { z } from 'zod';

/**
 * Session keys (docs/design.md §3): a channel thread is `team:channel:thread_ts` (a top-level mention or
 * a slash command starts the thread), a direct message conversation is `team:dm:user`.
 */
export function threadSessionKey(teamId: string, channel: string, threadTs: string): string {
  return `${teamId}:${channel}:${threadTs}`;
}

export function dmSessionKey(teamId: string, userId: string): string {
  return `${teamId}:dm:${userId}`;
}

/** Slash-command answers that are not a conversation (deterministic commands) get one session per user and channel. */
export function slashSessionKey(teamId: string, channel: string, userId: string): string {
  return `${teamId}:${channel}:slash:${userId}`;
}

/**
 * Where the Slack deliverer posts a queued turn's replies (`Delivery.target` for platform
 * 'slack'): the team (to pick the token), the tenant (for the confirm card's message
 * reference), the channel and thread, a slash command's response_url as fallback, and the
 * placeholder message the first reply replaces.
 */
export const slackTargetSchema = z.object({
  teamId: z.string().min(1),
  enterpriseId: z.string().optional(),
  isEnterpriseInstall: z.boolean().optional(),
  tenantId: z.uuid(),
  channel: z.string().min(1),
  threadTs: z.string().optional(),
  userId: z.string().min(1),
  responseUrl: z.string().url().optional(),
  /** The "working on it" placeholder posted when the turn was queued; the turn's first reply replaces it (chat.update). */
  placeholderTs: z.string().optional(),
});
export type SlackTarget = z.infer<typeof slackTargetSchema>;

/** Direct-message channel ids start with D; replies there are not threaded. */
export const isDmChannel = (channel: string) => channel.startsWith('D');

/**
 * Slack's `<…>` tokens: mentions and broadcasts (`<@U1|name>`, `<#C1|name>`, `<!here>`) and
 * links (`<https://x|label>`, `<mailto:a@b>`). Slack escapes `<` in what people type, so a
 * token never contains one: stopping at `<` keeps each match attempt within the text up to
 * the next `<`, which makes the replacements linear in the message length.
 */
const MENTION = /<([@#!])([^<>|]+)(?:\|([^<>]*))?>/g;
const LABELLED_LINK = /<((?:https?|mailto):[^<>|]+)\|([^<>]+)>/g;
const LINK = /<((?:https?|mailto):[^<>]+)>/g;

/**
 * Slack message text → plain text for the core: drops the bot's own mention, turns
 * `<@U123>` into `@U123`, `<https://x|label>` into `label (https://x)`, `<!here>` into `@here`,
 * and decodes the three escaped characters.
 */
export function messageText(text: string, botUserId?: string): string {
  let t = text;
  if (botUserId) t = t.replaceAll(`<@${botUserId}>`, ' ');
  else t = t.replace(/^\s*<@[UW][A-Z0-9]+>/, ' ');
  return t
    .replace(MENTION, (_m, sigil: string, id: string, label?: string) =>
      sigil === '#' ? `#${label || id}` : `@${label || id}`,
    )
    .replace(LABELLED_LINK, '$2 ($1)')
    .replace(LINK, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .trim();
}
