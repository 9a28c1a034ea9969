import { z } from 'zod';
import type { StreamInfo, Streamer, TextStream } from '../../core/replies/delivery.ts';
import { defaultPacing, pacedTextStream } from '../../core/conversations/text-stream.ts';
import type { Logger } from '../../core/logger.ts';
import type { ChannelPacer } from '../../core/pacer.ts';
import { textReply } from '../../core/replies/reply.ts';
import { stepText, type TurnStep } from '../../core/replies/steps.ts';
import { streamInfo } from './activity.ts';
import { ADAPTIVE_CARD_CONTENT_TYPE, escapeCardText, renderAdaptiveCard } from './render.ts';
import { stopActionSet } from './stop-action.ts';
import type { OutgoingMessage } from './activity.ts';
import { teamsTargetSchema } from './target.ts';
import type { TeamsTransport } from './transport.ts';

/** Teams accepts about one streaming update per second. */
const TEAMS_STREAM_MS = 1100;
/** Teams refuses informative updates over 1,000 characters. */
const TEAMS_INFORMATIVE_MAX = 1000;

/** What botbuilder's connector client throws for a refused call, as far as it matters here. */
const connectorErrorSchema = z
  .object({
    statusCode: z.number().optional(),
    code: z.string().optional(),
    message: z.string().optional(),
    response: z.object({ status: z.number().optional(), bodyAsText: z.string().optional() }).loose().optional(),
  })
  .loose();

/**
 * Whether the Bot Connector refused a streaming call because the person pressed Stop on the
 * streaming message (403, error code ContentStreamNotAllowed): the stream is over for good.
 */
export function isStreamStopped(err: unknown): boolean {
  const e = connectorErrorSchema.safeParse(err);
  if (!e.success) return false;
  const status = e.data.statusCode ?? e.data.response?.status;
  const said = [e.data.code, e.data.message, e.data.response?.bodyAsText].join(' ');
  return status === 403 && said.includes('ContentStreamNotAllowed');
}

/**
 * The Teams `Streamer`: in personal chats the text so far goes out as streaming typing
 * activities (`streaminfo` entity, increasing `streamSequence`, the first answer's id as
 * `streamId`), paced; the deliverer then sends the final message that closes the stream.
 * Steps (docs/design.md §12) go out before the text as informative updates of the same stream
 * (`streamType: "informative"`, one line per step, escaped); once the text streams, it replaces
 * them. Channels and group chats do not stream text: their steps go into one card, posted with
 * the first step and updated in place through the conversation's `pacer` (edits coalesced), which
 * the final message then replaces. When the person presses Stop on the streaming message, the next
 * streaming call is refused (`isStreamStopped`): nothing more is streamed, `onStopped` stops the
 * turn (docs/design.md §12), and the stream ends marked `stopped`, so the deliverer posts the
 * stopped note as a message of its own.
 */
export function createTeamsStreamer(deps: {
  transport: TeamsTransport;
  log: Logger;
  pacer: ChannelPacer;
  now?: () => number;
  onStopped?: (target: unknown, info: StreamInfo) => void;
}): Streamer {
  const now = deps.now ?? Date.now;
  return (rawTarget, info) => {
    const { conversationReference } = teamsTargetSchema.parse(rawTarget);
    const conversation = conversationReference.conversation as { conversationType?: string; id?: string } | undefined;
    if (conversation?.conversationType !== 'personal')
      return stepsCard(deps, conversationReference, conversation?.id ?? '', info);
    let sequence = 0;
    let streamId: string | undefined;
    let textStarted = false;
    let lastSent = 0;
    let stopped = false;
    const steps = new Map<string, TurnStep>();

    const send = async (streamType: 'informative' | 'streaming', text: string) => {
      if (stopped) return;
      // Informative updates are not paced by the text stream: keep Teams' one update a second here.
      const wait = lastSent + TEAMS_STREAM_MS - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      sequence += 1;
      let activityId: string | undefined;
      try {
        ({ activityId } = await deps.transport.sendProactive(conversationReference, {
          type: 'typing',
          text,
          ...streamInfo({ streamType, streamSequence: sequence, ...(streamId ? { streamId } : {}) }),
        }));
      } catch (err) {
        if (!isStreamStopped(err)) throw err;
        stopped = true;
        deps.log.info({ sessionId: info.sessionId }, 'the person stopped the streamed answer in Teams');
        deps.onStopped?.(rawTarget, info);
        return;
      }
      lastSent = now();
      if (!streamId && activityId) {
        streamId = activityId;
        info.onMessage?.({ streamId });
      }
    };

    return pacedTextStream({
      pacing: { ...defaultPacing, intervalMs: TEAMS_STREAM_MS },
      write: async (text) => {
        textStarted = true;
        await send('streaming', text);
      },
      writeSteps: async (changed) => {
        for (const step of changed) steps.set(step.id, step);
        // Streamed text replaces the informative update; steps after it are not shown live.
        if (textStarted) return;
        await send('informative', informativeText([...steps.values()]));
      },
      finish: async () => (streamId ? { streamId, ...(stopped ? { stopped: true } : {}) } : undefined),
      onError: (err) => deps.log.warn({ err }, 'streaming to Teams failed; the reply is sent when it is complete'),
    });
  };
}

/** A channel's or group chat's steps in one card: posted with the first step, updated in place after. */
function stepsCard(
  deps: { transport: TeamsTransport; log: Logger; pacer: ChannelPacer },
  reference: Record<string, unknown>,
  key: string,
  info: StreamInfo,
): TextStream {
  const steps = new Map<string, TurnStep>();
  let activityId: string | undefined;
  return pacedTextStream({
    pacing: defaultPacing,
    // Channels get the answer as one final message.
    write: async () => {},
    writeSteps: async (changed) => {
      for (const step of changed) steps.set(step.id, step);
      const message = stepsMessage([...steps.values()], info.sessionId);
      if (activityId) {
        const id = activityId;
        await deps.pacer.run(key, () => deps.transport.updateProactive(reference, id, message), {
          coalesce: `update:${id}`,
        });
        return;
      }
      activityId = (await deps.pacer.run(key, () => deps.transport.sendProactive(reference, message))).activityId;
      if (activityId) info.onMessage?.({ activityId });
    },
    finish: async () => (activityId ? { activityId } : undefined),
    onError: (err) =>
      deps.log.warn({ err }, 'could not show the steps in Teams; the reply is sent when it is complete'),
  });
}

/**
 * A channel's steps card: one escaped line per step and a Stop action (docs/design.md §12); the
 * answer, or the stopped note, replaces the whole card.
 */
function stepsMessage(steps: readonly TurnStep[], sessionId: string): OutgoingMessage {
  const card = renderAdaptiveCard(textReply(steps.map((s) => escapeCardText(stepText(s))).join('\n\n')));
  return {
    type: 'message',
    summary: 'RenderBot is working on it…',
    attachments: [
      { contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: { ...card, body: [...card.body, stopActionSet(sessionId)] } },
    ],
  };
}

/** The steps as an informative update: one escaped line each, the newest kept within Teams' 1,000 characters. */
function informativeText(steps: readonly TurnStep[]): string {
  const lines = steps.map((s) => escapeCardText(stepText(s)));
  while (lines.length > 1 && lines.join('\n').length > TEAMS_INFORMATIVE_MAX) lines.shift();
  return lines.join('\n').slice(0, TEAMS_INFORMATIVE_MAX);
}
