import type { webApi } from '@slack/bolt';
import type { Streamer } from '../../core/conversations/delivery.ts';
import { defaultPacing, pacedTextStream } from '../../core/conversations/text-stream.ts';
import type { Logger } from '../../core/logger.ts';
import { textReply } from '../../core/replies/reply.ts';
import type { TokenResolver } from './deliver.ts';
import { escapeMrkdwn, renderBlockKit } from './render.ts';
import { slackTargetSchema, type SlackTarget } from './session.ts';

/** chat.update is rate-limited (about one edit per second per message); native appends are cheap. */
export const SLACK_EDIT_MS = 1200;
export const SLACK_APPEND_MS = 400;
/** What follows text that is still being written, in edit mode. */
const WRITING = ' …';

/**
 * The Slack `Streamer`: shows the model's text while it is written, escaped exactly like the final
 * reply (`&`, `<`, `>`), so streamed text can never form `<!channel>`, `<@U…>` or `<url|label>`. In
 * threads it uses Slack's message streaming (chat.startStream / appendStream / stopStream); where
 * that is not available (DMs without a thread, workspaces without the
 * feature) it edits the placeholder — or one new message — with chat.update, more slowly. The
 * stream's message is returned, and the final reply replaces it with its full blocks (the
 * deliverer then removes the placeholder the streamed message took the place of).
 */
export function createSlackStreamer(deps: { client: webApi.WebClient; tokenFor: TokenResolver; log: Logger }): Streamer {
  return (rawTarget, info) => {
    const target = slackTargetSchema.parse(rawTarget);
    const { client } = deps;
    let mode: 'native' | 'edit' | undefined;
    let ts: string | undefined;
    let shown = 0;
    const pacing = { ...defaultPacing, intervalMs: SLACK_EDIT_MS };
    return pacedTextStream({
      pacing,
      write: async (text) => {
        const token = await deps.tokenFor(target);
        if (mode === undefined) {
          ts = await startNative(client, token, target, text);
          mode = ts ? 'native' : 'edit';
          if (ts) {
            pacing.intervalMs = SLACK_APPEND_MS;
            info.onMessage?.({ channel: target.channel, ts });
          }
        } else if (mode === 'native') {
          await client.chat.appendStream({ token, channel: target.channel, ts: ts!, markdown_text: escapeMrkdwn(text.slice(shown)) });
        }
        if (mode === 'edit') {
          const message = renderBlockKit(textReply(`${text}${WRITING}`));
          ts ??= target.placeholderTs;
          if (ts) await client.chat.update({ token, channel: target.channel, ts, text: message.text, blocks: message.blocks });
          else {
            ts = (await client.chat.postMessage({ token, channel: target.channel, ...(target.threadTs ? { thread_ts: target.threadTs } : {}), text: message.text, blocks: message.blocks })).ts;
            if (ts) info.onMessage?.({ channel: target.channel, ts });
          }
        }
        shown = text.length;
      },
      finish: async () => {
        if (!ts) return undefined;
        if (mode === 'native') {
          const token = await deps.tokenFor(target);
          await client.chat.stopStream({ token, channel: target.channel, ts }).catch((err: unknown) => deps.log.warn({ err }, 'could not stop the Slack stream'));
        }
        return { channel: target.channel, ts };
      },
      onError: (err) => deps.log.warn({ err, channel: target.channel }, 'streaming to Slack failed; the reply is posted when it is complete'),
    });
  };
}

/** Starts a native stream in the target's thread; undefined where Slack does not offer it. */
async function startNative(client: webApi.WebClient, token: string, target: SlackTarget, text: string): Promise<string | undefined> {
  if (!target.threadTs) return undefined;
  try {
    const res = await client.chat.startStream({
      token, channel: target.channel, thread_ts: target.threadTs, markdown_text: escapeMrkdwn(text),
      recipient_team_id: target.teamId, recipient_user_id: target.userId,
    });
    return res.ts;
  } catch {
    return undefined;
  }
}
