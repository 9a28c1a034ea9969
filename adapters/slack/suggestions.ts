import type { App as BoltApp, BlockButtonAction, types as slack } from '@slack/bolt';
import { escapeMrkdwn } from './mrkdwn.ts';
import { handleIncoming, type ListenerDeps } from './messages.ts';
import { dmSessionKey, isDmChannel, threadSessionKey } from './session.ts';
import {
  assistantPrompts,
  STARTERS_TITLE,
  SUGGESTION_ACTION_PREFIX,
  SUGGESTIONS_BLOCK_ID,
} from './suggestions-render.ts';
import { slackPerson, slackWorkspace } from './identity.ts';

/**
 * A click on a suggestion button: acknowledged at once, then the button's text is submitted as
 * the clicker's message in the conversation of the clicked message. Its dedupe key is the clicked
 * message, suggestion and person, so a double click (two payloads with different action_ts) or a
 * retry sends it once. The buttons are then replaced by who chose what.
 */
export function registerSuggestionListener(app: BoltApp, deps: ListenerDeps): void {
  // A new AI app thread starts with suggestions from where the tenant stands (its latest order, this week's failures).
  app.event('assistant_thread_started', async ({ event, body, context, client }) => {
    const thread = event.assistant_thread;
    const teamId = body.team_id ?? thread.context.team_id ?? context.teamId;
    if (!teamId) return;
    const who = await deps.intake.identify(
      'slack',
      slackWorkspace(teamId, context.enterpriseId),
      slackPerson(client, thread.user_id),
    );
    // An unlinked workspace keeps the manifest's prompts; its first message gets the explanation.
    if (!who) return;
    const starters = await deps.conversations.starters(who.tenantId, who.role);
    if (starters.length === 0) return;
    await client.assistant.threads
      .setSuggestedPrompts({
        channel_id: thread.channel_id,
        thread_ts: thread.thread_ts,
        title: STARTERS_TITLE,
        prompts: assistantPrompts(starters),
      })
      .catch((err: unknown) =>
        deps.log.warn({ err, channel: thread.channel_id }, "could not set the thread's suggested prompts"),
      );
  });

  app.action<BlockButtonAction>(
    new RegExp(`^${SUGGESTION_ACTION_PREFIX.replaceAll('.', '\\.')}\\d+$`),
    async ({ ack, body, action, client, context }) => {
      await ack();
      const teamId = body.team?.id ?? body.user.team_id;
      const channel = body.channel?.id ?? body.container?.channel_id;
      const messageTs = body.message?.ts ?? body.container?.message_ts;
      const text = action.value?.trim();
      if (!teamId || !channel || !messageTs || !text) return;
      const userId = body.user.id;
      const parentTs = body.message?.thread_ts as string | undefined;
      // A channel answer is in a thread (its root when the answer is the root); a DM answer may be top-level.
      const threadTs = parentTs ?? (isDmChannel(channel) ? undefined : messageTs);
      await handleIncoming(deps, {
        teamId,
        ...(body.enterprise?.id ? { enterpriseId: body.enterprise.id } : {}),
        userId,
        channel,
        ...(threadTs ? { threadTs } : {}),
        sessionKey: threadTs ? threadSessionKey(teamId, channel, threadTs) : dmSessionKey(teamId, userId),
        text,
        eventId: `suggest:${teamId}:${channel}:${messageTs}:${action.action_id}:${userId}`,
        placeholder: true,
        client,
        replyDirectly: async (t) => {
          await client.chat.postEphemeral({
            channel,
            user: userId,
            text: t,
            ...(threadTs ? { thread_ts: threadTs } : {}),
          });
        },
      });
      const blocks = (body.message?.blocks as slack.KnownBlock[] | undefined) ?? [];
      if (!blocks.some((b) => b.block_id === SUGGESTIONS_BLOCK_ID)) return;
      const chosen: slack.KnownBlock = {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `<@${userId}> asked: ${escapeMrkdwn(text)}` }],
      };
      await client.chat
        .update({
          channel,
          ts: messageTs,
          text: String(body.message?.text ?? ''),
          blocks: [...blocks.filter((b) => b.block_id !== SUGGESTIONS_BLOCK_ID), chosen],
        })
        .catch((err: unknown) =>
          deps.log.debug({ err, channel, botUserId: context.botUserId }, 'could not mark the chosen suggestion'),
        );
    },
  );
}
