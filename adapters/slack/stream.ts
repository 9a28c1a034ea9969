import type { webApi } from '@slack/bolt';
import type { Streamer } from '../../core/replies/delivery.ts';
import { defaultPacing, pacedTextStream } from '../../core/conversations/text-stream.ts';
import type { Logger } from '../../core/logger.ts';
import { textReply } from '../../core/replies/reply.ts';
import type { TokenResolver } from './deliver.ts';
import { escapeMrkdwn, renderBlockKit } from './render.ts';
import { slackTargetSchema, type SlackTarget } from './session.ts';

/** chat.update is rate-limited (about one edit per second per message); native appends are cheap. */
const SLACK_EDIT_MS = 1200;
const SLACK_APPEND_MS = 400;
/** What follows text that is still being written, in edit mode. */
const WRITING = ' …';

/** A native stream: the Web API client's chatStream helper (chat.startStream / appendStream / stopStream). */
type NativeStream = ReturnType<webApi.WebClient['chatStream']>;

/**
 * The Slack `Streamer`: shows the model's text while it is written, escaped exactly like the final
 * reply (`&`, `<`, `>`), so streamed text can never form `<!channel>`, `<@U…>` or `<url|label>`. In
 * threads it uses Slack's message streaming through the Web API client's `chatStream` helper;
 * where that is not available (DMs without a thread, workspaces without the feature) it edits the
 * placeholder — or one new message — with chat.update, more slowly. The stream's message is
 * reported to `info.onMessage` as soon as it exists and returned at the end; the final reply
 * replaces it with its full blocks (the deliverer then removes the placeholder the streamed
 * message took the place of).
 */
export function createSlackStreamer(deps: { client: webApi.WebClient; tokenFor: TokenResolver; log: Logger }): Streamer {
  return (rawTarget, info) => {
    const target = slackTargetSchema.parse(rawTarget);
    const { client } = deps;
    let mode: 'native' | 'edit' | undefined;
    let native: NativeStream | undefined;
    let ts: string | undefined;
    let shown = 0;
    const pacing = { ...defaultPacing, intervalMs: SLACK_EDIT_MS };
    return pacedTextStream({
      pacing,
      write: async (text) => {
        const token = await deps.tokenFor(target);
        // Escaping is per character, so the escaped deltas add up to the escaped text.
        const delta = escapeMrkdwn(text.slice(shown));
        if (mode === undefined) {
          native = await startNative(client, token, target, delta);
          mode = native ? 'native' : 'edit';
          if (native) {
            ts = native.ts;
            pacing.intervalMs = SLACK_APPEND_MS;
            info.onMessage?.({ channel: target.channel, ts });
          }
        } else if (mode === 'native' && delta) {
          await native!.append({ token, markdown_text: delta });
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
          await native!.stop({ token }).catch((err: unknown) => deps.log.warn({ err }, 'could not stop the Slack stream'));
        }
        return { channel: target.channel, ts };
      },
      onError: (err) => deps.log.warn({ err, channel: target.channel }, 'streaming to Slack failed; the reply is posted when it is complete'),
    });
  };
}

/**
 * Starts a native stream in the target's thread with its first text; undefined where Slack does
 * not offer it. The core already paces the writes, so the helper's buffer is one character: every
 * write is sent at once, and the stream's message exists after the first.
 */
async function startNative(client: webApi.WebClient, token: string, target: SlackTarget, markdown: string): Promise<NativeStream | undefined> {
  if (!target.threadTs || !markdown) return undefined;
  const stream = client.chatStream({
    channel: target.channel, thread_ts: target.threadTs, recipient_team_id: target.teamId, recipient_user_id: target.userId, buffer_size: 1,
  });
  try {
    await stream.append({ token, markdown_text: markdown });
    return stream.ts ? stream : undefined;
  } catch {
    return undefined;
  }
}
