import type { webApi } from '@slack/bolt';
import type { Streamer } from '../../core/replies/delivery.ts';
import { defaultPacing, pacedTextStream } from '../../core/conversations/text-stream.ts';
import type { Logger } from '../../core/logger.ts';
import { textReply } from '../../core/replies/reply.ts';
import type { TokenResolver } from './deliver.ts';
import { escapeMrkdwn, renderBlockKit } from './render.ts';
import { slackTargetSchema, type SlackTarget } from './session.ts';
import {
  loadingMessages,
  refusedStreaming,
  stepsMrkdwn,
  taskChunk,
  type NativeStream,
  type TaskUpdateChunk,
} from './steps.ts';
import type { TurnStep } from '../../core/replies/steps.ts';

/** chat.update is rate-limited (about one edit per second per message); native appends are cheap. */
const SLACK_EDIT_MS = 1200;
const SLACK_APPEND_MS = 400;
/** What follows text that is still being written, in edit mode. */
const WRITING = ' …';

/**
 * The Slack `Streamer`: shows the model's text while it is written, escaped exactly like the final
 * reply (`&`, `<`, `>`), so streamed text can never form `<!channel>`, `<@U…>` or `<url|label>`. In
 * threads it uses Slack's message streaming through the Web API client's `chatStream` helper;
 * where that is not available (DMs without a thread, workspaces without the feature) it edits the
 * placeholder — or one new message — with chat.update, more slowly. The stream's message is
 * reported to `info.onMessage` as soon as it exists and returned at the end; the final reply
 * replaces it with its full blocks (the deliverer then removes the placeholder the streamed
 * message took the place of).
 *
 * Steps (docs/design.md §12) go into the same stream as `task_update` chunks of a plan
 * (`task_display_mode: "plan"`), before the text. Where Slack refuses those chunks or the stream,
 * they are shown as the thread's status (`assistant.threads.setStatus` with `loading_messages`,
 * in assistant threads), else as lines above the text in the edited placeholder.
 */
export function createSlackStreamer(deps: {
  client: webApi.WebClient;
  tokenFor: TokenResolver;
  log: Logger;
}): Streamer {
  return (rawTarget, info) => {
    const target = slackTargetSchema.parse(rawTarget);
    const { client } = deps;
    let mode: 'native' | 'edit' | undefined;
    let native: NativeStream | undefined;
    let ts: string | undefined;
    let shown = 0;
    let text = '';
    /** How steps are shown; undefined until the first one. */
    let tasks: 'native' | 'status' | 'edit' | undefined;
    const steps = new Map<string, TurnStep>();
    const pacing = { ...defaultPacing, intervalMs: SLACK_EDIT_MS };

    const started = (stream: NativeStream) => {
      native = stream;
      mode = 'native';
      ts = stream.ts;
      pacing.intervalMs = SLACK_APPEND_MS;
      // Marked as streaming: should this attempt die before stopping it, the answer that replaces it stops it first.
      info.onMessage?.({ channel: target.channel, ts: stream.ts!, streaming: true });
    };
    /** Edit mode: the steps and the text so far in the placeholder, or in one message of its own. */
    const edit = async (token: string, writing: boolean) => {
      mode = 'edit';
      const lines = tasks === 'edit' && steps.size ? `${stepsMrkdwn([...steps.values()])}\n\n` : '';
      const message = renderBlockKit(textReply(`${text}${writing ? WRITING : ''}`));
      const blocks = lines
        ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: lines.trim() }] }, ...message.blocks]
        : message.blocks;
      const fallback = `${lines}${message.text}`;
      ts ??= target.placeholderTs;
      if (ts) await client.chat.update({ token, channel: target.channel, ts, text: fallback, blocks });
      else {
        ts = (
          await client.chat.postMessage({
            token,
            channel: target.channel,
            ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
            text: fallback,
            blocks,
          })
        ).ts;
        if (ts) info.onMessage?.({ channel: target.channel, ts });
      }
    };
    const showSteps = async (changed: TurnStep[]) => {
      for (const step of changed) steps.set(step.id, step);
      const token = await deps.tokenFor(target);
      if (tasks === undefined || tasks === 'native') {
        try {
          if (mode === 'native') {
            await native!.append({ token, chunks: changed.map(taskChunk) });
            tasks = 'native';
            return;
          }
          if (mode === undefined) {
            const stream = await startNative(client, token, target, { chunks: [...steps.values()].map(taskChunk) });
            if (stream) {
              started(stream);
              tasks = 'native';
              return;
            }
          }
        } catch (err) {
          if (!refusedStreaming(err)) throw err;
          deps.log.debug({ err, channel: target.channel }, 'Slack refused task chunks; showing steps another way');
        }
        tasks = isAssistantThread(target) ? 'status' : 'edit';
      }
      if (tasks === 'status') {
        try {
          await client.assistant.threads.setStatus({
            token,
            channel_id: target.channel,
            thread_ts: target.threadTs!,
            status: STATUS_TEXT,
            loading_messages: loadingMessages([...steps.values()]),
          });
          return;
        } catch (err) {
          deps.log.debug({ err, channel: target.channel }, 'no thread status here; showing steps in the placeholder');
          tasks = 'edit';
        }
      }
      // Lines above the text need a message to edit: a native stream's message cannot be edited while it streams.
      if (mode !== 'native' && (ts ?? target.placeholderTs)) await edit(token, true);
    };

    return pacedTextStream({
      pacing,
      write: async (next) => {
        text = next;
        const token = await deps.tokenFor(target);
        // Escaping is per character, so the escaped deltas add up to the escaped text.
        const delta = escapeMrkdwn(next.slice(shown));
        if (mode === undefined) {
          const stream = await startNative(client, token, target, { markdown_text: delta }).catch(() => undefined);
          if (stream) started(stream);
          else mode = 'edit';
        } else if (mode === 'native' && delta) {
          await native!.append({ token, markdown_text: delta });
        }
        if (mode === 'edit') await edit(token, true);
        shown = next.length;
      },
      writeSteps: showSteps,
      finish: async () => {
        if (!ts) return undefined;
        if (mode === 'native') {
          const token = await deps.tokenFor(target);
          await native!
            .stop({ token })
            .catch((err: unknown) => deps.log.warn({ err }, 'could not stop the Slack stream'));
        }
        return { channel: target.channel, ts };
      },
      onError: (err) =>
        deps.log.warn(
          { err, channel: target.channel },
          'streaming to Slack failed; the reply is posted when it is complete',
        ),
    });
  };
}

/** What the thread status says while steps rotate through its loading messages. */
const STATUS_TEXT = 'is working…';

/** Threads of the app's DM are assistant threads (where the thread status shows). */
function isAssistantThread(target: SlackTarget): boolean {
  return target.channel.startsWith('D') && Boolean(target.threadTs);
}

/**
 * Starts a native stream in the target's thread with its first text or task chunks, steps shown
 * as one plan; undefined where there is no thread. Throws what Slack answered when it refused
 * (see `refusedStreaming`). The core already paces the writes, so the helper's buffer is one
 * character: every write is sent at once, and the stream's message exists after the first.
 */
async function startNative(
  client: webApi.WebClient,
  token: string,
  target: SlackTarget,
  first: { markdown_text: string } | { chunks: TaskUpdateChunk[] },
): Promise<NativeStream | undefined> {
  if (!target.threadTs || ('markdown_text' in first && !first.markdown_text)) return undefined;
  const stream = client.chatStream({
    channel: target.channel,
    thread_ts: target.threadTs,
    recipient_team_id: target.teamId,
    recipient_user_id: target.userId,
    buffer_size: 1,
    task_display_mode: 'plan',
  });
  await stream.append({ token, ...first });
  return stream.ts ? stream : undefined;
}
