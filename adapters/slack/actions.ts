import type { App as BoltApp, BlockButtonAction, ButtonAction, webApi } from '@slack/bolt';
import type { Decision } from '../../core/actions/plan.ts';
import { CANCEL_ACTION_ID, CONFIRM_ACTION_ID, escapeMrkdwn, renderBlockKit } from './render.ts';
import type { ListenerDeps } from './messages.ts';
import { isDmChannel, type SlackTarget } from './session.ts';
import { postToResponseUrl } from './deliver.ts';
import { slackPerson, slackWorkspace } from './identity.ts';

/**
 * Registers the confirm card's buttons. A click is acked at once; the core decides (exactly
 * once, role-checked, tenant-scoped — a click from another workspace resolves to another tenant
 * and is "not found"); the card is updated in place with chat.update; a click that changed
 * nothing gets an ephemeral explanation. The model's follow-up is queued into the card's thread.
 */
export function registerActionListeners(app: BoltApp, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(CONFIRM_ACTION_ID, async (args) => {
    await args.ack();
    await decide(deps, 'confirm', args.body, args.action, args.client);
  });
  app.action<BlockButtonAction>(CANCEL_ACTION_ID, async (args) => {
    await args.ack();
    await decide(deps, 'cancel', args.body, args.action, args.client);
  });
}

async function decide(
  deps: ListenerDeps,
  verb: 'confirm' | 'cancel',
  body: BlockButtonAction,
  action: ButtonAction,
  client: webApi.WebClient,
): Promise<void> {
  const teamId = body.team?.id ?? body.user.team_id;
  const enterpriseId = body.enterprise?.id;
  const userId = body.user.id;
  const channel = body.channel?.id;
  const messageTs = body.message?.ts ?? body.container?.message_ts;
  const threadTs =
    (body.message?.thread_ts as string | undefined) ?? (channel && !isDmChannel(channel) ? messageTs : undefined);
  const tell = async (text: string) => {
    try {
      if (!channel) throw new Error('no channel');
      await client.chat.postEphemeral({ channel, user: userId, text, ...(threadTs ? { thread_ts: threadTs } : {}) });
    } catch (err) {
      deps.log.warn({ err }, 'chat.postEphemeral failed; answering via response_url');
      if (body.response_url)
        await postToResponseUrl(body.response_url, { response_type: 'ephemeral', replace_original: false, text });
    }
  };
  if (!teamId || !channel) return tell('This button cannot be used here.');
  // A decision looks the link and the role up afresh (never from the intake cache).
  const who = await deps.intake.identify('slack', slackWorkspace(teamId, enterpriseId), slackPerson(client, userId), {
    fresh: true,
  });
  if (!who) return tell('This confirmation was not found. This workspace is not linked to a RenderBot tenant.');
  const target: SlackTarget = {
    teamId,
    tenantId: who.tenantId,
    channel,
    userId,
    ...(enterpriseId ? { enterpriseId } : {}),
    ...(threadTs ? { threadTs } : {}),
  };
  const decision: Decision =
    verb === 'confirm'
      ? await deps.conversations.confirm(who, action.value ?? '', { platform: 'slack', target })
      : await deps.conversations.cancel(who, action.value ?? '');
  deps.log.info(
    { verb, actionId: action.value, status: decision.status, ok: decision.ok, teamId, userId },
    'confirm card clicked',
  );
  // Redraw the card when the click decided it, or when it turned out to be expired; other refusals leave it as is.
  if (decision.status !== 'not_found' && (decision.ok || decision.status === 'expired')) {
    const card = renderBlockKit(decision.reply);
    if (messageTs) await client.chat.update({ channel, ts: messageTs, text: card.text, blocks: card.blocks });
    else if (body.response_url) await postToResponseUrl(body.response_url, { replace_original: true, ...card });
  }
  if (!decision.ok) await tell(escapeMrkdwn(decision.message));
}
