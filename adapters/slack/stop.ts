import type { App as BoltApp, BlockButtonAction, webApi } from '@slack/bolt';
import type { Speaker } from '../../core/conversations/identify.ts';
import type { Intake } from '../../core/conversations/intake.ts';
import type { Conversations } from '../../core/conversations/service.ts';
import type { Logger } from '../../core/logger.ts';
import { slackPerson, slackWorkspace } from './identity.ts';
import { escapeMrkdwn } from './render.ts';
import { isDmChannel, threadSessionKey } from './session.ts';

/*
 * Stopping a turn from Slack (docs/design.md §12): the Stop button on the "working on it"
 * placeholder, the agent session's native stop (the `agent_session_stopped` event) and the word
 * `stop`. Each is handled on arrival — never queued behind the turn it stops — through
 * `conversations.stop`; the stopped turn itself replaces its placeholder with "Stopped by …".
 */

/** The action id of the placeholder's Stop button; its value is the session id. */
export const STOP_ACTION_ID = 'renderbot.stop';

export type SlackStopDeps = {
  conversations: Pick<Conversations, 'stop'>;
  intake: Pick<Intake, 'identify' | 'tenantOf' | 'sessionFor'>;
  log: Logger;
};

/** The placeholder's blocks: the text and a Stop button for the session's running turn. */
export function placeholderBlocks(text: string, sessionId: string) {
  return [
    { type: 'section', text: { type: 'mrkdwn', text } },
    {
      type: 'actions',
      elements: [
        { type: 'button', action_id: STOP_ACTION_ID, text: { type: 'plain_text', text: 'Stop' }, value: sessionId },
      ],
    },
  ];
}

/** Where a refusal goes: privately to the person (ephemeral) in a channel, as a message in a DM. */
async function tell(
  client: webApi.WebClient,
  to: { channel: string; userId: string; threadTs?: string | undefined },
  text: string,
): Promise<void> {
  const thread = to.threadTs ? { thread_ts: to.threadTs } : {};
  if (isDmChannel(to.channel)) await client.chat.postMessage({ channel: to.channel, text, ...thread });
  else await client.chat.postEphemeral({ channel: to.channel, user: to.userId, text, ...thread });
}

/**
 * Asks the session's running turn to stop for `who`; a refusal or "nothing is running" is told
 * to that person only (a retried event tells nothing twice). Resolves once the stop is stored.
 */
export async function stopFromSlack(
  deps: SlackStopDeps,
  client: webApi.WebClient,
  who: Speaker,
  sessionId: string,
  to: { channel: string; userId: string; threadTs?: string | undefined; quiet?: boolean },
  stored: () => Promise<void> = async () => {},
): Promise<void> {
  const outcome = await deps.conversations.stop(who, sessionId);
  await stored();
  deps.log.info({ sessionId, status: outcome.status, userId: to.userId }, 'stop asked for');
  if (outcome.status === 'stopping' || to.quiet) return;
  await tell(client, to, escapeMrkdwn(outcome.text)).catch((err: unknown) =>
    deps.log.warn({ err }, 'could not answer a stop'),
  );
}

/** Registers the Stop button and the agent session's stop event. */
export function registerStopListeners(app: BoltApp, deps: SlackStopDeps): void {
  // A Stop click is acknowledged only once the stop is stored: a database outage leaves it
  // unacknowledged, which Slack shows at the button. It is not kept for a replay (receipt.ts): one
  // replayed later would stop turns the person started after clicking.
  app.action<BlockButtonAction>(STOP_ACTION_ID, async ({ ack, body, action, client }) => {
    const teamId = body.team?.id ?? body.user.team_id;
    const channel = body.channel?.id;
    if (!teamId || !channel) return ack();
    // A stop is a decision about someone's turn: the role is looked up afresh.
    const who = await deps.intake.identify(
      'slack',
      slackWorkspace(teamId, body.enterprise?.id),
      slackPerson(client, body.user.id),
      { fresh: true },
    );
    if (!who) return ack();
    const threadTs = (body.message?.thread_ts as string | undefined) ?? undefined;
    await stopFromSlack(deps, client, who, action.value ?? '', { channel, userId: body.user.id, threadTs }, ack);
  });

  // Slack's own stop button of an agent session: the event names the thread, not our session.
  app.event('agent_session_stopped', async ({ event, body, context, client }) => {
    const teamId = body.team_id ?? context.teamId;
    if (!teamId || !event.thread_ts) return;
    const workspace = slackWorkspace(teamId, context.enterpriseId);
    const tenant = await deps.intake.tenantOf('slack', workspace);
    const sessionId = tenant
      ? await deps.intake.sessionFor(
          { tenantId: tenant.id, platform: 'slack', key: threadSessionKey(teamId, event.channel, event.thread_ts) },
          event.user,
          { create: false },
        )
      : undefined;
    const who = sessionId
      ? await deps.intake.identify('slack', workspace, slackPerson(client, event.user), { fresh: true })
      : undefined;
    if (!who || !sessionId) return;
    await stopFromSlack(deps, client, who, sessionId, {
      channel: event.channel,
      userId: event.user,
      threadTs: event.thread_ts,
      quiet: (context.retryNum ?? 0) > 0,
    });
  });
}
