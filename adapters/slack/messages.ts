import type { App as BoltApp, webApi } from '@slack/bolt';
import type { Intake, Speaker, Workspace } from '../../core/conversations/intake.ts';
import type { Conversations } from '../../core/conversations/service.ts';
import { UserInputError } from '../../core/errors.ts';
import type { Files } from '../../core/files/service.ts';
import type { Logger } from '../../core/logger.ts';
import { isStopRequest, parseCommand } from '../../core/commands/grammar.ts';
import { INVITE_HINT, NOT_IN_CHANNEL_ERRORS, slackErrorCode } from './deliver.ts';
import { slackPerson, slackWorkspace } from './identity.ts';
import { receiptKey } from './receipt.ts';
import { escapeMrkdwn, renderBlockKit } from './render.ts';
import { placeholderBlocks, stopFromSlack } from './stop.ts';
import { downloadSlackFile, eventFiles, MAX_FILES_PER_MESSAGE, type SlackFile } from './files.ts';
import {
  dmSessionKey,
  isDmChannel,
  messageText,
  slashSessionKey,
  threadSessionKey,
  type SlackTarget,
} from './session.ts';

/** The core calls the Slack listeners use. */
export type SlackCore = Pick<
  Conversations,
  'submit' | 'respond' | 'confirm' | 'cancel' | 'stop' | 'starters' | 'feedback'
>;

/** The intake calls the Slack listeners use (who is speaking, sessions, link codes, the home tab). */
export type SlackIntake = Pick<
  Intake,
  'tenantOf' | 'identify' | 'redeemLink' | 'sessionFor' | 'overview' | 'requestHandled'
>;

export type ListenerDeps = {
  conversations: SlackCore;
  intake: SlackIntake;
  log: Logger;
  /** Requests that start turns were stored before their acknowledgement and are replayed when their handling fails (HTTP, not Socket Mode). */
  replayable: boolean;
  /** Uploaded files (core/files); without, shared files are answered with how to send them in the web panel. */
  files?: Pick<Files, 'upload'>;
  /** The only origin files are downloaded from with the bot token (files.ts `slackFileOrigin`). */
  fileOrigin?: string;
};

/** What an unlinked workspace is told instead of an answer (no LLM call, docs/design.md §10). */
export const UNLINKED_TEXT =
  'This Slack workspace is not linked to a RenderBot tenant yet. An admin can create a one-time code with ' +
  '`renderbot admin link code --tenant &lt;slug&gt;`; then type `/render link CODE` here (or mention me with `link CODE`).';

/** What stands in the thread (or DM) while a queued turn runs; the first reply replaces it. */
export const PLACEHOLDER_TEXT = '_Working on it…_';

/** A message from a person, normalised from an app_mention, a thread reply, a DM, a slash command or a suggestion click. */
export type Incoming = {
  teamId: string;
  enterpriseId?: string;
  userId: string;
  channel: string;
  /** Thread the replies go to; undefined for DMs (top-level). */
  threadTs?: string;
  /** The thread's root is the bot's own message, posted for this request (a slash command's "asked:"). */
  ownThread?: boolean;
  sessionKey: string;
  text: string;
  eventId: string;
  retryNum?: number;
  responseUrl?: string;
  /** Only continue the thread's active session (thread replies without a mention); never start one, never explain. */
  continueOnly?: boolean;
  /** Post a "working on it" placeholder where the answer will go (not for slash commands: they post their own thread root). */
  placeholder?: boolean;
  client: webApi.WebClient;
  /** Replies outside the queue (unlinked, link codes): ephemeral, DM text or response_url. */
  replyDirectly(text: string): Promise<void>;
  /** Files shared with the message (a file_share message or a mention with files) and the bot token to download them with. */
  files?: SlackFile[];
  botToken?: string;
};

/**
 * Registers app_mention, direct messages (message.im), replies without a mention in threads that
 * already have a conversation (message.channels / message.groups) and `/render`. Each listener
 * is acked before any database or model work (Bolt acks events itself; the command acks first),
 * then resolves team → tenant, user → role, the session, shows that it is working on it (the
 * thread status in DM threads, else a placeholder message; not for Slack retries) and queues the turn durably with the Slack event id (or the command's
 * trigger_id) as dedupe key.
 */
export function registerMessageListeners(app: BoltApp, deps: ListenerDeps): void {
  app.event('app_mention', async ({ event, body, context, client }) => {
    if (event.bot_id || event.subtype || !event.user || event.user === context.botUserId)
      return settle(deps, body.event_id, 'ignored', receiptKey(body) !== undefined);
    const teamId = body.team_id ?? event.team ?? context.teamId;
    if (!teamId) return settle(deps, body.event_id, 'ignored', receiptKey(body) !== undefined);
    const threadTs = event.thread_ts ?? event.ts;
    await handleIncoming(deps, {
      teamId,
      enterpriseId: context.enterpriseId,
      userId: event.user,
      channel: event.channel,
      threadTs,
      sessionKey: threadSessionKey(teamId, event.channel, threadTs),
      text: messageText(event.text, context.botUserId),
      eventId: body.event_id,
      retryNum: context.retryNum,
      placeholder: true,
      client,
      replyDirectly: async (text) => {
        await client.chat.postEphemeral({ channel: event.channel, user: event.user!, thread_ts: threadTs, text });
      },
      ...withFiles(event, context.botToken),
    });
  });

  app.event('message', async ({ event, body, context, client }) => {
    // Only plain messages and file shares people send; edits, joins, broadcasts and bot posts carry another subtype or bot_id.
    if ((event.subtype !== undefined && event.subtype !== 'file_share') || ('bot_id' in event && event.bot_id))
      return settle(deps, body.event_id, 'ignored', receiptKey(body) !== undefined);
    const teamId = body.team_id ?? context.teamId;
    if (!teamId || !event.user || event.user === context.botUserId)
      return settle(deps, body.event_id, 'ignored', receiptKey(body) !== undefined);
    const user = event.user;
    if (event.channel_type === 'im') {
      // A thread in the DM (every conversation in Slack's AI app view is one) is a session of its own.
      return handleIncoming(deps, {
        teamId,
        enterpriseId: context.enterpriseId,
        userId: user,
        channel: event.channel,
        threadTs: event.thread_ts,
        sessionKey: event.thread_ts
          ? threadSessionKey(teamId, event.channel, event.thread_ts)
          : dmSessionKey(teamId, user),
        text: messageText(event.text ?? '', context.botUserId),
        eventId: body.event_id,
        retryNum: context.retryNum,
        placeholder: true,
        client,
        replyDirectly: async (text) => {
          await client.chat.postMessage({
            channel: event.channel,
            text,
            ...(event.thread_ts ? { thread_ts: event.thread_ts } : {}),
          });
        },
        ...withFiles(event, context.botToken),
      });
    }
    const threadTs = event.thread_ts;
    if ((event.channel_type !== 'channel' && event.channel_type !== 'group') || !threadTs)
      return settle(deps, body.event_id, 'ignored', receiptKey(body) !== undefined);
    // A reply that mentions the bot also arrives as app_mention and is answered there (never twice);
    // without the bot's own user id we cannot tell, so such replies are left alone.
    if (!context.botUserId || (event.text ?? '').includes(`<@${context.botUserId}>`))
      return settle(deps, body.event_id, 'mention', receiptKey(body) !== undefined);
    await handleIncoming(deps, {
      teamId,
      enterpriseId: context.enterpriseId,
      userId: user,
      channel: event.channel,
      threadTs,
      sessionKey: threadSessionKey(teamId, event.channel, threadTs),
      text: messageText(event.text ?? '', context.botUserId),
      eventId: body.event_id,
      retryNum: context.retryNum,
      continueOnly: true,
      placeholder: true,
      client,
      replyDirectly: async () => {},
      ...withFiles(event, context.botToken),
    });
  });

  app.command('/render', async ({ command, ack, respond, client, context }) => {
    await ack();
    const text = messageText(command.text) || 'help';
    const ephemeral = async (t: string) => {
      await respond({ response_type: 'ephemeral', text: t });
    };
    const cmd = parseCommand(text);
    const workspace = slackWorkspace(command.team_id, command.enterprise_id);
    const who = await deps.intake.identify('slack', workspace, slackPerson(client, command.user_id));
    if (!who) {
      await ephemeral(
        cmd?.name === 'link' ? await link(deps, client, workspace, command.user_id, cmd.code) : UNLINKED_TEXT,
      );
      return settle(deps, command.trigger_id, cmd?.name === 'link' ? 'link' : 'unlinked');
    }
    if (cmd) {
      // Deterministic commands answer at once, privately, through response_url (works in any channel).
      const thread = {
        tenantId: who.tenantId,
        platform: 'slack' as const,
        key: slashSessionKey(command.team_id, command.channel_id, command.user_id),
      };
      const sessionId = await deps.intake.sessionFor(thread, command.user_id, { create: true });
      // The slash-command session is the person's own (one per user and channel).
      const replies = await deps.conversations.respond(
        {
          tenantId: who.tenantId,
          userId: command.user_id,
          role: who.role,
          sessionId,
          platform: 'slack',
          shared: false,
        },
        text,
      );
      for (const reply of replies) await respond({ response_type: 'ephemeral', ...renderBlockKit(reply) });
      return settle(deps, command.trigger_id, 'answered');
    }
    // Free text starts a thread on the bot's own message; the answer follows in that thread.
    let rootTs: string | undefined;
    try {
      const root = await client.chat.postMessage({
        channel: command.channel_id,
        text: `<@${command.user_id}> asked: ${escapeMrkdwn(text)}\n_I’ll answer in this thread._`,
        unfurl_links: false,
      });
      rootTs = root.ts;
    } catch (err) {
      const code = slackErrorCode(err);
      if (code && (NOT_IN_CHANNEL_ERRORS as readonly string[]).includes(code)) {
        await ephemeral(INVITE_HINT);
        return settle(deps, command.trigger_id, 'not_in_channel');
      }
      throw err;
    }
    if (!rootTs) return settle(deps, command.trigger_id, 'no_thread');
    await submitTurn(
      deps,
      {
        teamId: command.team_id,
        enterpriseId: command.enterprise_id ?? context.enterpriseId,
        userId: command.user_id,
        channel: command.channel_id,
        threadTs: rootTs,
        ownThread: true,
        sessionKey: threadSessionKey(command.team_id, command.channel_id, rootTs),
        text,
        eventId: command.trigger_id,
        responseUrl: command.response_url,
        client,
        replyDirectly: ephemeral,
      },
      who,
    );
  });
}

export async function handleIncoming(deps: ListenerDeps, inc: Incoming): Promise<void> {
  const workspace = slackWorkspace(inc.teamId, inc.enterpriseId);
  const person = slackPerson(inc.client, inc.userId);
  if (inc.continueOnly) {
    // Thread chatter the bot is not part of stays silent: no explanation, no users.info, no session.
    const tenant = inc.text || inc.files?.length ? await deps.intake.tenantOf('slack', workspace) : undefined;
    const sessionId = tenant
      ? await deps.intake.sessionFor({ tenantId: tenant.id, platform: 'slack', key: inc.sessionKey }, inc.userId, {
          create: false,
        })
      : undefined;
    const who = sessionId ? await deps.intake.identify('slack', workspace, person) : undefined;
    if (!who || !sessionId) return settle(deps, inc.eventId, 'no_session');
    return submitTurn(deps, inc, who, sessionId);
  }
  const text = inc.text || (inc.files?.length ? 'I attached a file.' : 'help');
  const who = await deps.intake.identify('slack', workspace, person);
  if (!who) {
    // A retry of an event we already answered must not repeat the explanation (or a link attempt).
    if (inc.retryNum) return settle(deps, inc.eventId, 'unlinked_retry');
    const cmd = parseCommand(text);
    await inc.replyDirectly(
      cmd?.name === 'link' ? await link(deps, inc.client, workspace, inc.userId, cmd.code) : UNLINKED_TEXT,
    );
    return settle(deps, inc.eventId, cmd?.name === 'link' ? 'link' : 'unlinked');
  }
  await submitTurn(deps, { ...inc, text }, who);
}

/**
 * Queues the turn into the thread's session (`sessionId`, or the key's session, created on first
 * use). A placeholder posted for it is deleted again when the event turns out to be a duplicate.
 * When queuing fails, a stored request (`deps.replayable`) is replayed later, so what this
 * attempt posted — placeholder, slash-command thread root — is removed for the replay to start
 * clean; otherwise the placeholder says that the message could not be taken.
 */
async function submitTurn(deps: ListenerDeps, inc: Incoming, who: Speaker, sessionId?: string): Promise<void> {
  const { tenantId, role } = who;
  let session: string;
  try {
    session =
      sessionId ??
      (await deps.intake.sessionFor({ tenantId, platform: 'slack', key: inc.sessionKey }, inc.userId, {
        create: true,
      }));
  } catch (err) {
    if (inc.ownThread && deps.replayable) await settlePlaceholder(deps, inc, inc.threadTs!);
    throw err;
  }
  if (isStopRequest(inc.text)) {
    // Handled on arrival: queued, it would wait behind the very turn it stops.
    await stopFromSlack(deps, inc.client, who, session, {
      channel: inc.channel,
      userId: inc.userId,
      threadTs: inc.threadTs,
      quiet: Boolean(inc.retryNum),
    });
    return settle(deps, inc.eventId, 'stop');
  }
  let fileIds: string[] | undefined;
  if (inc.files?.length) {
    fileIds = await uploadFiles(deps, inc, who);
    if (!fileIds) return;
  }
  // Slack retries an event it thinks we missed; the first delivery already showed that we are working on it.
  const statusShown =
    inc.placeholder && !inc.retryNum && isDmThread(inc) ? await setStatus(deps, inc, WORKING_STATUS) : false;
  const placeholderTs =
    inc.placeholder && !inc.retryNum && !statusShown ? await postPlaceholder(deps, inc, session) : undefined;
  const target: SlackTarget = {
    teamId: inc.teamId,
    tenantId,
    channel: inc.channel,
    userId: inc.userId,
    ...(inc.enterpriseId ? { enterpriseId: inc.enterpriseId } : {}),
    ...(inc.threadTs ? { threadTs: inc.threadTs } : {}),
    ...(inc.responseUrl ? { responseUrl: inc.responseUrl } : {}),
    ...(placeholderTs ? { placeholderTs } : {}),
  };
  let status: 'queued' | 'duplicate';
  try {
    ({ status } = await deps.conversations.submit({
      turn: {
        tenantId,
        userId: inc.userId,
        role,
        sessionId: session,
        platform: 'slack',
        shared: !isDmChannel(inc.channel),
      },
      text: inc.text || 'I attached a file.',
      delivery: { platform: 'slack', target },
      eventId: inc.eventId,
      ...(fileIds ? { files: fileIds } : {}),
    }));
  } catch (err) {
    if (placeholderTs)
      await settlePlaceholder(
        deps,
        inc,
        placeholderTs,
        deps.replayable ? undefined : 'I couldn’t take that message just now. Please send it again.',
      );
    if (inc.ownThread && deps.replayable) await settlePlaceholder(deps, inc, inc.threadTs!);
    if (statusShown) await setStatus(deps, inc, '');
    throw err;
  }
  if (status === 'duplicate') {
    deps.log.info({ eventId: inc.eventId, retryNum: inc.retryNum }, 'duplicate Slack event ignored');
    if (placeholderTs) await settlePlaceholder(deps, inc, placeholderTs);
  }
  await settle(deps, inc.eventId, status);
}

/** The files of an event and the bot token, for `Incoming`. */
function withFiles(event: unknown, botToken: string | undefined): Pick<Incoming, 'files' | 'botToken'> {
  const files = eventFiles(event);
  return files.length ? { files: files.slice(0, MAX_FILES_PER_MESSAGE), ...(botToken ? { botToken } : {}) } : {};
}

/**
 * Downloads the message's files from Slack (files.ts) and hands them to core/files; their ids,
 * or undefined when one could not be used — then its one sentence was posted where the message
 * was (not again for a Slack retry) and the event is settled.
 */
async function uploadFiles(deps: ListenerDeps, inc: Incoming, who: Speaker): Promise<string[] | undefined> {
  const ids: string[] = [];
  try {
    if (!deps.files || !deps.fileOrigin || !inc.botToken)
      throw new UserInputError('files_unsupported', 'Files cannot be read here; upload them in the web panel.');
    for (const f of inc.files ?? []) {
      const file = await downloadSlackFile(f, inc.botToken, deps.fileOrigin);
      ids.push(
        (
          await deps.files.upload(
            { tenantId: who.tenantId, platform: 'slack', userId: inc.userId },
            file.name,
            file.bytes,
          )
        ).fileId,
      );
    }
    return ids;
  } catch (err) {
    if (!(err instanceof UserInputError)) throw err;
    if (!inc.retryNum) {
      await inc.client.chat
        .postMessage({
          channel: inc.channel,
          text: escapeMrkdwn(err.message),
          ...(inc.threadTs ? { thread_ts: inc.threadTs } : {}),
        })
        .catch((e: unknown) => deps.log.warn({ err: e, channel: inc.channel }, 'could not say why a file was refused'));
    }
    await settle(deps, inc.eventId, 'file_refused');
    return undefined;
  }
}

/** The assistant thread status while a turn runs; Slack clears it when the bot replies in the thread. */
export const WORKING_STATUS = 'is working on it…';

const isDmThread = (inc: Incoming) => Boolean(inc.threadTs) && inc.channel.startsWith('D');

/**
 * Sets the status of a DM thread (Slack's AI app view: "RenderBot is working on it…") instead
 * of posting a placeholder; false where Slack does not offer it (no assistant:write scope, app
 * without the AI app feature, not an assistant thread).
 */
async function setStatus(deps: ListenerDeps, inc: Incoming, status: string): Promise<boolean> {
  try {
    await inc.client.assistant.threads.setStatus({ channel_id: inc.channel, thread_ts: inc.threadTs!, status });
    return true;
  } catch (err) {
    deps.log.debug({ err, channel: inc.channel }, 'no assistant thread status here; posting a placeholder');
    return false;
  }
}

/** Posts the "working on it" placeholder, with a Stop button, where the answer will go; undefined when Slack refused (the answer is then posted normally). */
async function postPlaceholder(deps: ListenerDeps, inc: Incoming, sessionId: string): Promise<string | undefined> {
  try {
    const res = await inc.client.chat.postMessage({
      channel: inc.channel,
      text: PLACEHOLDER_TEXT,
      blocks: placeholderBlocks(PLACEHOLDER_TEXT, sessionId),
      ...(inc.threadTs ? { thread_ts: inc.threadTs } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    return res.ts;
  } catch (err) {
    deps.log.warn({ err, channel: inc.channel, eventId: inc.eventId }, 'could not post the working-on-it placeholder');
    return undefined;
  }
}

/** Removes a placeholder no turn will replace (chat.delete), or replaces it with `text`; best effort. */
async function settlePlaceholder(deps: ListenerDeps, inc: Incoming, ts: string, text?: string): Promise<void> {
  try {
    if (text) await inc.client.chat.update({ channel: inc.channel, ts, text });
    else await inc.client.chat.delete({ channel: inc.channel, ts });
  } catch (err) {
    deps.log.warn({ err, channel: inc.channel, ts }, 'could not remove the working-on-it placeholder');
  }
}

/**
 * Ends the handling of an event or command: one debug line with what came of it (queued,
 * duplicate, ignored, unlinked, …) and, unless a turn was queued for it (which marked it handled
 * in the same statement), its stored copy is marked handled so it is not replayed (receipt.ts).
 */
async function settle(deps: ListenerDeps, eventId: string, outcome: string, stored = true): Promise<void> {
  if (stored && outcome !== 'queued' && outcome !== 'duplicate') await deps.intake.requestHandled('slack', eventId);
  deps.log.debug({ eventId, outcome }, 'slack event done');
}

/** `link CODE` from an unlinked workspace: redeems the one-time code (guests may not link). */
async function link(
  deps: ListenerDeps,
  client: webApi.WebClient,
  workspace: Workspace,
  userId: string,
  code: string,
): Promise<string> {
  const outcome = await deps.intake.redeemLink(code, 'slack', workspace, slackPerson(client, userId));
  if (outcome.ok)
    return `Linked this workspace to *${escapeMrkdwn(outcome.tenant.name)}*. Try \`/render help\`, or mention me with a question.`;
  if (outcome.reason === 'guest')
    return 'Guests cannot link a workspace. Ask a full member of this workspace to run `/render link CODE`.';
  return escapeMrkdwn(outcome.message);
}
