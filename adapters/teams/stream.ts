import { z } from 'zod';
import type { StreamInfo, Streamer } from '../../core/replies/delivery.ts';
import { defaultPacing, pacedTextStream } from '../../core/conversations/text-stream.ts';
import type { Logger } from '../../core/logger.ts';
import { streamInfo } from './activity.ts';
import { teamsTargetSchema } from './target.ts';
import type { TeamsTransport } from './transport.ts';

/** Teams accepts about one streaming update per second. */
const TEAMS_STREAM_MS = 1100;

/** What botbuilder's connector client throws for a refused call, as far as it matters here. */
const connectorErrorSchema = z.object({
  statusCode: z.number().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
  response: z.object({ status: z.number().optional(), bodyAsText: z.string().optional() }).loose().optional(),
}).loose();

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
 * Channels and group chats do not stream: they get the single final message. When the person
 * presses Stop on the streaming message, the next streaming call is refused (`isStreamStopped`):
 * nothing more is streamed, `onStopped` stops the turn (docs/design.md §12), and the stream ends
 * marked `stopped`, so the deliverer posts the stopped note as a message of its own.
 */
export function createTeamsStreamer(deps: { transport: TeamsTransport; log: Logger; onStopped?: (target: unknown, info: StreamInfo) => void }): Streamer {
  return (rawTarget, info) => {
    const { conversationReference } = teamsTargetSchema.parse(rawTarget);
    const conversation = conversationReference.conversation as { conversationType?: string } | undefined;
    if (conversation?.conversationType !== 'personal') return undefined;
    let sequence = 0;
    let streamId: string | undefined;
    let stopped = false;
    return pacedTextStream({
      pacing: { ...defaultPacing, intervalMs: TEAMS_STREAM_MS },
      write: async (text) => {
        if (stopped) return;
        sequence += 1;
        let activityId: string | undefined;
        try {
          ({ activityId } = await deps.transport.sendProactive(conversationReference, {
            type: 'typing', text,
            ...streamInfo({ streamType: 'streaming', streamSequence: sequence, ...(streamId ? { streamId } : {}) }),
          }));
        } catch (err) {
          if (!isStreamStopped(err)) throw err;
          stopped = true;
          deps.log.info({ sessionId: info.sessionId }, 'the person stopped the streamed answer in Teams');
          deps.onStopped?.(rawTarget, info);
          return;
        }
        if (!streamId && activityId) {
          streamId = activityId;
          info.onMessage?.({ streamId });
        }
      },
      finish: async () => (streamId ? { streamId, ...(stopped ? { stopped: true } : {}) } : undefined),
      onError: (err) => deps.log.warn({ err }, 'streaming to Teams failed; the reply is sent when it is complete'),
    });
  };
}
