import type { Streamer } from '../../core/replies/delivery.ts';
import { defaultPacing, pacedTextStream } from '../../core/conversations/text-stream.ts';
import type { Logger } from '../../core/logger.ts';
import { streamInfo } from './activity.ts';
import { teamsTargetSchema } from './target.ts';
import type { TeamsTransport } from './transport.ts';

/** Teams accepts about one streaming update per second. */
const TEAMS_STREAM_MS = 1100;

/**
 * The Teams `Streamer`: in personal chats the text so far goes out as streaming typing
 * activities (`streaminfo` entity, increasing `streamSequence`, the first answer's id as
 * `streamId`), paced; the deliverer then sends the final message that closes the stream.
 * Channels and group chats do not stream: they get the single final message.
 */
export function createTeamsStreamer(deps: { transport: TeamsTransport; log: Logger }): Streamer {
  return (rawTarget, info) => {
    const { conversationReference } = teamsTargetSchema.parse(rawTarget);
    const conversation = conversationReference.conversation as { conversationType?: string } | undefined;
    if (conversation?.conversationType !== 'personal') return undefined;
    let sequence = 0;
    let streamId: string | undefined;
    return pacedTextStream({
      pacing: { ...defaultPacing, intervalMs: TEAMS_STREAM_MS },
      write: async (text) => {
        sequence += 1;
        const { activityId } = await deps.transport.sendProactive(conversationReference, {
          type: 'typing', text,
          ...streamInfo({ streamType: 'streaming', streamSequence: sequence, ...(streamId ? { streamId } : {}) }),
        });
        if (!streamId && activityId) {
          streamId = activityId;
          info.onMessage?.({ streamId });
        }
      },
      finish: async () => (streamId ? { streamId } : undefined),
      onError: (err) => deps.log.warn({ err }, 'streaming to Teams failed; the reply is sent when it is complete'),
    });
  };
}
