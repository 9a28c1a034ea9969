import { z } from 'zod';
import type { webApi } from '@slack/bolt';
import type { Deliverer } from '../../core/replies/delivery.ts';
import type { Logger } from '../../core/logger.ts';
import type { ChannelPacer } from '../../core/pacer.ts';
import type { Reply } from '../../core/replies/reply.ts';
import type { FileExporter } from '../../core/exports/files.ts';
import { attachFiles } from './uploads.ts';
import { renderBlockKit, type SlackMessage } from './render.ts';
import { assistantPrompts, isAssistantThread, PROMPTS_TITLE } from './suggestions-render.ts';
import { slackTargetSchema, type SlackTarget } from './session.ts';

/** Slack error codes meaning "the bot cannot post in this conversation". */
export const NOT_IN_CHANNEL_ERRORS = ['not_in_channel', 'channel_not_found', 'is_archived'] as const;

/** What people are told when the bot is not in the channel. */
export const INVITE_HINT =
  'I can’t post in this channel because I’m not a member. Invite me with `/invite @RenderBot`, or send me a direct message.';

/** The bot token for a team (single-workspace token or the OAuth installation's). */
export type TokenResolver = (
  target: Pick<SlackTarget, 'teamId' | 'enterpriseId' | 'isEnterpriseInstall'>,
) => Promise<string>;

/** The Slack error code of a Web API failure, if it is one. */
export function slackErrorCode(err: unknown): string | undefined {
  const data = (err as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/** Posts to a response_url (slash commands, interactive messages); valid 30 minutes, 5 times. */
export async function postToResponseUrl(url: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
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
export function createSlackDeliverer(deps: {
  client: webApi.WebClient;
  pacer: ChannelPacer;
  tokenFor: TokenResolver;
  log: Logger;
  /** Makes the files of file blocks for upload (adapters/slack/uploads.ts); without it, files are shared as links. */
  exportFile?: FileExporter;
}): Deliverer {
  return async (rawTarget, reply: Reply, info) => {
    const target = slackTargetSchema.parse(rawTarget);
    const token = await deps.tokenFor(target);
    const ch: Channel = { ...deps, key: `${target.teamId}:${target.channel}` };
    if (info.merged) {
      // Answered with a later message: its placeholder goes (a DM thread's status clears with that answer).
      const ts = target.placeholderTs;
      if (ts) await ch.pacer.run(ch.key, () => deps.client.chat.delete({ token, channel: target.channel, ts }));
      return undefined;
    }
    // Files go up first (no transaction is open here); the message then says they are attached, or keeps their links.
    const exportFile = deps.exportFile;
    const shown =
      exportFile && reply.blocks.some((b) => b.type === 'file')
        ? await attachFiles({ client: deps.client, exportFile, log: deps.log }, token, target, reply)
        : reply;
    // In an AI app thread the next steps become the thread's suggested prompts instead of buttons.
    const prompts = isAssistantThread(target) && reply.suggestions?.length ? reply.suggestions : undefined;
    const message: TaggedMessage = {
      ...renderBlockKit(shown, { suggestions: prompts ? 'omit' : 'buttons' }),
      ...(info.once ? { metadata: onceMetadata(info.once.key) } : {}),
    };
    if (info.once?.mayHaveSent && target.threadTs) {
      const sent = await findTagged(deps.client, token, target.channel, target.threadTs, info.once.key);
      if (sent) {
        deps.log.info(
          { channel: target.channel, ts: sent, key: info.once.key },
          'found the message an earlier attempt posted; not posting it again',
        );
        return { channel: target.channel, ts: sent };
      }
    }
    const earlierTs = typeof info.replace?.ts === 'string' ? info.replace.ts : undefined;
    const placeholderTs = earlierTs ?? (info.index === 0 ? target.placeholderTs : undefined);
    // A turn's answer that replaces its streamed message leaves the placeholder with nothing to show.
    const staleTs =
      info.index === 0 && earlierTs && target.placeholderTs !== earlierTs ? target.placeholderTs : undefined;
    if (staleTs) {
      await ch.pacer
        .run(ch.key, () => deps.client.chat.delete({ token, channel: target.channel, ts: staleTs }))
        .catch((err: unknown) => deps.log.debug({ err }, 'placeholder already gone'));
    }
    // A message an interrupted attempt was still streaming into (its steps, its text) cannot be edited until its stream is stopped.
    if (earlierTs && info.replace?.streaming === true) {
      await deps.client.chat
        .stopStream({ token, channel: target.channel, ts: earlierTs })
        .catch((err: unknown) => deps.log.debug({ err }, 'the earlier stream was stopped already'));
    }
    const send = (m: TaggedMessage) =>
      placeholderTs ? replace(ch, token, target, placeholderTs, m) : post(ch, token, target, m);
    let ts: string | undefined;
    try {
      ts = await send(message);
    } catch (err) {
      const code = slackErrorCode(err);
      if (code === 'invalid_blocks' || code === 'invalid_blocks_format') {
        deps.log.error({ err, channel: target.channel }, 'Slack rejected the blocks; sending text only');
        ts = await send({ ...message, blocks: [] });
      } else if (code && (NOT_IN_CHANNEL_ERRORS as readonly string[]).includes(code) && target.responseUrl) {
        await postToResponseUrl(target.responseUrl, {
          response_type: 'ephemeral',
          replace_original: false,
          text: `${INVITE_HINT}\n\n${message.text}`,
        });
        return undefined;
      } else {
        throw err;
      }
    }
    if (prompts && ts) await offerPrompts(ch, token, target, ts, reply, prompts);
    deps.log.debug(
      { channel: target.channel, ts, threadTs: target.threadTs, replaced: ts !== undefined && ts === placeholderTs },
      'slack reply posted',
    );
    return ts ? { channel: target.channel, ts } : undefined;
  };
}

/**
 * Sets the AI app thread's suggested prompts to the answer's next steps. Where Slack refuses
 * (not an assistant thread after all, no assistant:write), the answer gets them as buttons instead.
 */
async function offerPrompts(
  ch: Channel,
  token: string,
  target: SlackTarget,
  ts: string,
  reply: Reply,
  prompts: readonly string[],
): Promise<void> {
  try {
    await ch.pacer.run(ch.key, () =>
      ch.client.assistant.threads.setSuggestedPrompts({
        token,
        channel_id: target.channel,
        thread_ts: target.threadTs!,
        title: PROMPTS_TITLE,
        prompts: assistantPrompts(prompts),
      }),
    );
  } catch (err) {
    ch.log.debug({ err, channel: target.channel }, 'no suggested prompts in this thread; adding buttons to the answer');
    const withButtons = renderBlockKit(reply);
    await ch.pacer
      .run(
        ch.key,
        () =>
          ch.client.chat.update({
            token,
            channel: target.channel,
            ts,
            text: withButtons.text,
            blocks: withButtons.blocks,
          }),
        { coalesce: `update:${ts}` },
      )
      .catch((e: unknown) => ch.log.warn({ err: e, channel: target.channel }, 'could not add the suggestion buttons'));
  }
}

/** A message as posted: Block Kit plus, for a message posted once, its metadata. */
type TaggedMessage = SlackMessage & { metadata?: ReturnType<typeof onceMetadata> };

/** The Web API client and the pacer of the channel a delivery writes into (`key`: team and channel). */
type Channel = { client: webApi.WebClient; pacer: ChannelPacer; log: Logger; key: string };

async function post(
  ch: Channel,
  token: string,
  target: SlackTarget,
  message: TaggedMessage,
): Promise<string | undefined> {
  const res = await ch.pacer.run(ch.key, () =>
    ch.client.chat.postMessage({
      token,
      channel: target.channel,
      ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
      text: message.text,
      ...(message.blocks.length ? { blocks: message.blocks } : {}),
      ...(message.metadata ? { metadata: message.metadata } : {}),
      unfurl_links: false,
      unfurl_media: false,
    }),
  );
  return res.ts;
}

/** Seconds Slack asked to wait, when `err` is the Web API client's rate-limit rejection (`rejectRateLimitedCalls`). */
export function rateLimitedFor(err: unknown): number | undefined {
  const limited = rateLimitedError.safeParse(err);
  return limited.success ? limited.data.retryAfter : undefined;
}
const rateLimitedError = z.object({
  code: z.literal('slack_webapi_rate_limited_error'),
  retryAfter: z.number().nonnegative(),
});

/** The message metadata that names a message to be posted once (Slack keeps it with the message; people do not see it). */
const ONCE_EVENT_TYPE = 'renderbot_once';
const onceMetadata = (key: string) => ({ event_type: ONCE_EVENT_TYPE, event_payload: { key } });
const onceTag = z.object({ event_type: z.literal(ONCE_EVENT_TYPE), event_payload: z.object({ key: z.string() }) });

/** Threads longer than this many replies are not searched to the end (a notice is looked for among the latest). */
const MAX_THREAD_PAGES = 5;

/** The ts of the bot's message in the thread that carries `key` in its metadata, if any. */
async function findTagged(
  client: webApi.WebClient,
  token: string,
  channel: string,
  threadTs: string,
  key: string,
): Promise<string | undefined> {
  let cursor: string | undefined;
  for (let page = 0; page < MAX_THREAD_PAGES; page++) {
    const res = await client.conversations.replies({
      token,
      channel,
      ts: threadTs,
      include_all_metadata: true,
      limit: 200,
      ...(cursor ? { cursor } : {}),
    });
    const found = res.messages?.find((m) => onceTag.safeParse(m.metadata).data?.event_payload.key === key);
    if (found?.ts) return found.ts;
    cursor = res.response_metadata?.next_cursor;
    if (!res.has_more || !cursor) return undefined;
  }
  return undefined;
}

/**
 * Turns the placeholder into the reply (chat.update keeps its ts). Rejected blocks are rethrown
 * (the caller retries with text only); any other failure — the placeholder was deleted, the
 * message can no longer be edited — posts the reply as a new message instead.
 */
async function replace(
  ch: Channel,
  token: string,
  target: SlackTarget,
  ts: string,
  message: TaggedMessage,
): Promise<string | undefined> {
  try {
    // Edits of one message waiting on the channel's rate limit are coalesced: the newest is what it shows.
    await ch.pacer.run(
      ch.key,
      () => ch.client.chat.update({ token, channel: target.channel, ts, text: message.text, blocks: message.blocks }),
      { coalesce: `update:${ts}` },
    );
    return ts;
  } catch (err) {
    const code = slackErrorCode(err);
    if (code === 'invalid_blocks' || code === 'invalid_blocks_format' || rateLimitedFor(err) !== undefined) throw err;
    ch.log.warn({ err, channel: target.channel, ts }, 'could not replace the placeholder; posting the reply instead');
    return post(ch, token, target, message);
  }
}
