import type { webApi } from '@slack/bolt';
import type { Deliverer } from '../../core/replies/delivery.ts';
import type { Intake } from '../../core/conversations/intake.ts';
import type { Logger } from '../../core/logger.ts';
import type { Reply } from '../../core/replies/reply.ts';
import { renderBlockKit, type SlackMessage } from './render.ts';
import { slackTargetSchema, type SlackTarget } from './session.ts';

/** Slack error codes meaning "the bot cannot post in this conversation". */
export const NOT_IN_CHANNEL_ERRORS = ['not_in_channel', 'channel_not_found', 'is_archived'] as const;

/** What people are told when the bot is not in the channel. */
export const INVITE_HINT = 'I can’t post in this channel because I’m not a member. Invite me with `/invite @RenderBot`, or send me a direct message.';

/** The bot token for a team (single-workspace token or the OAuth installation's). */
export type TokenResolver = (target: Pick<SlackTarget, 'teamId' | 'enterpriseId' | 'isEnterpriseInstall'>) => Promise<string>;

/** The Slack error code of a Web API failure, if it is one. */
export function slackErrorCode(err: unknown): string | undefined {
  const data = (err as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/** Posts to a response_url (slash commands, interactive messages); valid 30 minutes, 5 times. */
export async function postToResponseUrl(url: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`response_url answered HTTP ${res.status}`);
}

/**
 * The Slack `Deliverer`: posts a queued turn's reply into its thread with chat.postMessage and
 * the team's token — the turn's first reply (`info.index` 0) instead replaces its "working on
 * it" placeholder, and `info.replace` an earlier message, in place (chat.update; posted
 * normally if that message is gone) —, returns the message's `ts`, remembers
 * where a pending confirm card went (for in-place updates), falls back to the slash command's
 * response_url when the bot is not in the channel, and to plain text when Slack rejects the blocks.
 */
export function createSlackDeliverer(deps: { client: webApi.WebClient; tokenFor: TokenResolver; cardsPosted: Intake['cardsPosted']; log: Logger }): Deliverer {
  return async (rawTarget, reply: Reply, info) => {
    const target = slackTargetSchema.parse(rawTarget);
    const token = await deps.tokenFor(target);
    if (info.merged) {
      // Answered with a later message: its placeholder goes (a DM thread's status clears with that answer).
      if (target.placeholderTs) await deps.client.chat.delete({ token, channel: target.channel, ts: target.placeholderTs });
      return undefined;
    }
    const message = renderBlockKit(reply);
    const earlierTs = typeof info.replace?.ts === 'string' ? info.replace.ts : undefined;
    const placeholderTs = earlierTs ?? (info.index === 0 ? target.placeholderTs : undefined);
    // A turn's answer that replaces its streamed message leaves the placeholder with nothing to show.
    if (info.index === 0 && earlierTs && target.placeholderTs && target.placeholderTs !== earlierTs) {
      await deps.client.chat.delete({ token, channel: target.channel, ts: target.placeholderTs }).catch((err: unknown) => deps.log.debug({ err }, 'placeholder already gone'));
    }
    const send = (m: SlackMessage) => (placeholderTs ? replace(deps, token, target, placeholderTs, m) : post(deps.client, token, target, m));
    let ts: string | undefined;
    try {
      ts = await send(message);
    } catch (err) {
      const code = slackErrorCode(err);
      if (code === 'invalid_blocks' || code === 'invalid_blocks_format') {
        deps.log.error({ err, channel: target.channel }, 'Slack rejected the blocks; sending text only');
        ts = await send({ text: message.text, blocks: [] });
      } else if (code && (NOT_IN_CHANNEL_ERRORS as readonly string[]).includes(code) && target.responseUrl) {
        await postToResponseUrl(target.responseUrl, { response_type: 'ephemeral', replace_original: false, text: `${INVITE_HINT}\n\n${message.text}` });
        return undefined;
      } else {
        throw err;
      }
    }
    const cards = ts ? await deps.cardsPosted(target.tenantId, reply, { platform: 'slack', teamId: target.teamId, channel: target.channel, ts, threadTs: target.threadTs }) : [];
    deps.log.debug({ channel: target.channel, ts, threadTs: target.threadTs, replaced: ts !== undefined && ts === placeholderTs, cards }, 'slack reply posted');
    return ts ? { channel: target.channel, ts } : undefined;
  };
}

async function post(client: webApi.WebClient, token: string, target: SlackTarget, message: SlackMessage): Promise<string | undefined> {
  const res = await client.chat.postMessage({
    token,
    channel: target.channel,
    ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
    text: message.text,
    ...(message.blocks.length ? { blocks: message.blocks } : {}),
    unfurl_links: false,
    unfurl_media: false,
  });
  return res.ts;
}

/**
 * Turns the placeholder into the reply (chat.update keeps its ts). Rejected blocks are rethrown
 * (the caller retries with text only); any other failure — the placeholder was deleted, the
 * message can no longer be edited — posts the reply as a new message instead.
 */
async function replace(deps: { client: webApi.WebClient; log: Logger }, token: string, target: SlackTarget, ts: string, message: SlackMessage): Promise<string | undefined> {
  try {
    await deps.client.chat.update({ token, channel: target.channel, ts, text: message.text, blocks: message.blocks });
    return ts;
  } catch (err) {
    const code = slackErrorCode(err);
    if (code === 'invalid_blocks' || code === 'invalid_blocks_format') throw err;
    deps.log.warn({ err, channel: target.channel, ts }, 'could not replace the placeholder; posting the reply instead');
    return post(deps.client, token, target, message);
  }
}
