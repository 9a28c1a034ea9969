import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { scopeOf } from './suggestions.ts';
import type { Deliverer, StreamInfo, Streamer } from '../../core/replies/delivery.ts';
import type { Intake } from '../../core/conversations/intake.ts';
import type { Reply } from '../../core/replies/reply.ts';
import type { Logger } from '../../core/logger.ts';
import { describeTeamsSettings, teamsSettings, type ActiveTeamsSettings, type TeamsConfig } from './config.ts';
import { streamInfo } from './activity.ts';
import { createTeamsHandler, type TeamsHandlerDeps, type TeamsIntake } from './handler.ts';
import { HttpError, type HttpRoute } from '../http.ts';
import {
  activityBody,
  isLoopbackAddress,
  isLoopbackUrl,
  MAX_ACTIVITY_BYTES,
  transportRequest,
  transportResponse,
} from './http.ts';
import { ConfigError } from '../../core/errors.ts';
import { renderTeamsMessage } from './render.ts';
import { createTeamsStreamer, isStreamStopped } from './stream.ts';
import { throttledFor } from './throttling.ts';
import { createChannelPacer } from '../../core/pacer.ts';
import { teamsTargetSchema } from './target.ts';
import { consentCards, isPersonalChat } from './file-consent.ts';
import type { FileExporter } from '../../core/exports/files.ts';
import { createBotFrameworkTransport, type ConversationRef, type TeamsTransport } from './transport.ts';

/** The conversation a stored reference points to (the pacer's key). */
const conversationKey = z.object({ conversation: z.object({ id: z.string() }) });

/** Path Azure Bot Service posts activities to (the bot's messaging endpoint). */
const TEAMS_MESSAGES_PATH = '/api/messages';

export type TeamsAdapterOptions = {
  config: TeamsConfig;
  conversations: TeamsHandlerDeps['conversations'];
  /** The core's intake (never a database handle, docs/design.md §1). */
  intake: TeamsIntake & Pick<Intake, 'answerPosted'>;
  log: Logger;
  /** Replaces the Bot Framework transport (tests of the turn logic without botbuilder). */
  transport?: TeamsTransport;
  /** Uploaded files (core/files): personal-chat files are handed over. */
  files?: TeamsHandlerDeps['files'];
  /** Makes exported files for the file consent flow of personal chats; without it files are shared as links. */
  exportFile?: FileExporter;
};

/** The Teams adapter: the /api/messages route and the proactive reply sender. */
export type TeamsAdapter = {
  settings: ActiveTeamsSettings;
  /** `POST /api/messages`: the activity as JSON (at most MAX_ACTIVITY_BYTES), authenticated by the transport. */
  route: HttpRoute;
  deliverer: Deliverer;
  streamer: Streamer;
  /**
   * Resolves once the work started after answered requests (accepted file uploads) has finished;
   * after 20 s that work is cut off (the person is told the upload failed).
   */
  stop(): Promise<void>;
};

/** How long `stop` waits for work still running after its request was answered before cutting it off. */
const AFTER_ANSWER_GRACE_MS = 20_000;

/**
 * Creates the Teams adapter (docs/style.md §2). Throws a ConfigError for inconsistent Microsoft* settings
 * and when Teams is off; logs whether requests are authenticated or the bot runs in Emulator mode.
 */
export function createTeamsAdapter(opts: TeamsAdapterOptions): TeamsAdapter {
  const log = opts.log.child({ component: 'teams' });
  const settings = teamsSettings(opts.config);
  if (settings.mode === 'off') throw new ConfigError('teams_config', describeTeamsSettings(settings));
  if (settings.mode === 'emulator') log.warn(describeTeamsSettings(settings));
  else log.info(describeTeamsSettings(settings));
  const emulator = settings.mode === 'emulator';
  const transport = opts.transport ?? createBotFrameworkTransport(settings, log);
  const pacer = createChannelPacer({ log, waitFor: throttledFor });
  /** Calls into one conversation wait out its throttling in order, without holding up others (core/pacer.ts). */
  const keyOf = (reference: ConversationRef) => conversationKey.safeParse(reference).data?.conversation.id ?? '';
  /** Work started by a request and run after it was answered (accepted file uploads); awaited by `stop`. */
  const afterAnswers = new Set<Promise<void>>();
  /** Aborted when `stop` has waited long enough for that work. */
  const stopping = new AbortController();
  const handler = createTeamsHandler({
    intake: opts.intake,
    conversations: opts.conversations,
    log,
    emulator,
    ...(opts.files ? { files: opts.files } : {}),
    ...(opts.exportFile ? { exportFile: opts.exportFile } : {}),
    sendLater: (reference, message) => pacer.run(keyOf(reference), () => transport.sendProactive(reference, message)),
    afterAnswer: (work) => {
      const running = work(stopping.signal).catch((err: unknown) =>
        log.error({ err }, 'work after a Teams answer failed'),
      );
      afterAnswers.add(running);
      void running.finally(() => afterAnswers.delete(running));
    },
  });

  const route: HttpRoute = {
    method: 'POST',
    path: TEAMS_MESSAGES_PATH,
    body: { kind: 'json', maxBytes: MAX_ACTIVITY_BYTES },
    handle: async (req, res) => {
      // Unauthenticated Emulator mode answers this machine only, and only calls back to it (no SSRF through serviceUrl).
      if (emulator && !isLoopbackAddress(req.socket.remoteAddress))
        throw new HttpError(403, 'forbidden', 'Emulator mode accepts requests from this machine only.');
      const body = activityBody(req.body);
      if (emulator && !isLoopbackUrl(String(body.serviceUrl)))
        throw new HttpError(403, 'forbidden', 'Emulator mode replies to a serviceUrl on this machine only.');
      await transport.process(transportRequest(req, body), transportResponse(res), (turn) => handler.handle(turn));
    },
  };

  /** Teams' feedback names the activity it was given on: remember which agent answer that activity shows. */
  const answerPosted = async (tenantId: string, conversation: string, reply: Reply, activityId: string | undefined) => {
    if (reply.answer && activityId)
      await opts.intake.answerPosted({
        tenantId,
        platform: 'teams',
        conversation,
        messageRef: activityId,
        answerId: reply.answer.id,
      });
  };
  /** Edits an earlier message in place; a message that cannot be edited any more is posted anew. */
  const deliverer: Deliverer = async (target, reply, info) => {
    // A message answered together with a later one has nothing of its own to show (its typing indicator just ends).
    if (info.merged) return undefined;
    const { tenantId, conversationReference } = teamsTargetSchema.parse(target);
    // Personal chats get files through consent cards (sent after the reply); channels and group chats keep the links.
    const exportFile = opts.exportFile;
    const { reply: shown, cards } =
      exportFile && isPersonalChat(conversationReference) && reply.blocks.some((b) => b.type === 'file')
        ? await consentCards({ exportFile, log }, tenantId, reply)
        : { reply, cards: [] };
    // A stream the person stopped takes no final message: the reply (the stopped note) is a message of its own.
    const streamId =
      typeof info.replace?.streamId === 'string' && info.replace.stopped !== true ? info.replace.streamId : undefined;
    // The final message of a streamed reply closes the stream (personal chats).
    const scope = scopeOf(conversationReference);
    const rendered = renderTeamsMessage(shown, { scope });
    const final = streamId ? streamInfo({ streamType: 'final', streamId }) : undefined;
    // An answer's AI label and feedback loop stay on the message that closes its stream.
    const message = final
      ? {
          ...rendered,
          entities: [...final.entities, ...(rendered.entities ?? [])],
          channelData: { ...rendered.channelData, ...final.channelData },
        }
      : rendered;
    const earlier = typeof info.replace?.activityId === 'string' ? info.replace.activityId : undefined;
    const key = keyOf(conversationReference);
    if (earlier) {
      try {
        await pacer.run(key, () => transport.updateProactive(conversationReference, earlier, message), {
          coalesce: `update:${earlier}`,
        });
        log.debug({ sessionId: info.sessionId, activityId: earlier }, 'teams message updated');
        await answerPosted(tenantId, key, reply, earlier);
        return { activityId: earlier };
      } catch (err) {
        log.warn({ err, activityId: earlier }, 'could not update the Teams message; posting it anew');
      }
    }
    const send = (m: typeof message) => pacer.run(key, () => transport.sendProactive(conversationReference, m));
    const { activityId } = await send(message).catch((err: unknown) => {
      // The person stopped the stream meanwhile: Teams takes no final message for it, so the reply stands on its own.
      if (streamId && isStreamStopped(err)) return send(renderTeamsMessage(shown, { scope }));
      throw err;
    });
    for (const card of cards) await pacer.run(key, () => transport.sendProactive(conversationReference, card));
    await answerPosted(tenantId, key, reply, activityId);
    log.debug({ sessionId: info.sessionId, activityId }, 'teams reply sent');
    return activityId ? { activityId } : undefined;
  };

  const onStopped = (target: unknown, info: StreamInfo) => {
    const { tenantId } = teamsTargetSchema.parse(target);
    if (!info.itemIds?.length) return;
    opts.conversations
      .streamStopped({ tenantId, sessionId: info.sessionId, itemIds: info.itemIds })
      .catch((err: unknown) =>
        log.warn({ err, sessionId: info.sessionId }, 'could not stop the turn whose stream was stopped'),
      );
  };
  return {
    settings,
    route,
    deliverer,
    streamer: createTeamsStreamer({ transport, log, pacer, onStopped }),
    async stop() {
      // Work may still start while the server closes (an invoke waiting on its speaker): wait until none is left.
      const deadline = Date.now() + AFTER_ANSWER_GRACE_MS;
      while (afterAnswers.size > 0 && Date.now() < deadline) {
        await Promise.race([Promise.all([...afterAnswers]), delay(deadline - Date.now(), undefined, { ref: false })]);
      }
      if (afterAnswers.size > 0) {
        log.warn({ unfinished: afterAnswers.size }, 'stopping: cutting off file uploads still running');
        stopping.abort(new Error('the Teams channel is stopping'));
        await Promise.all([...afterAnswers]);
      }
    },
  };
}
