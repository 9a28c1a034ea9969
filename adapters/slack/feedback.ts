import type { App as BoltApp, BlockAction, FeedbackButtonsAction } from '@slack/bolt';
import { FEEDBACK_ACTION_ID, parseFeedbackValue } from './answer.ts';
import type { ListenerDeps } from './messages.ts';
import { postToResponseUrl } from './deliver.ts';
import { slackPerson, slackWorkspace } from './identity.ts';

/** What the clicker is told, privately, after a 👍/👎. */
export const FEEDBACK_THANKS = {
  up: 'Thanks — glad it helped. Your feedback goes to your workspace admin.',
  down: 'Thanks — your workspace admin will see this answer. To say what went wrong, reply in this thread.',
  notFound: 'This answer was not found, so the feedback was not recorded.',
  superseded: 'Your newer feedback on this answer stands.',
} as const;

/**
 * When the button was clicked: Slack's `action_ts` (seconds.micros), so a replayed older click
 * does not replace a newer one; undefined (stored as now) when it is not such a number.
 */
function clickTime(actionTs: string | undefined): Date | undefined {
  return actionTs && /^\d{1,12}(\.\d{1,9})?$/.test(actionTs) ? new Date(Number(actionTs) * 1000) : undefined;
}

/**
 * Registers the 👍/👎 of agent answers (`feedback_buttons` in a `context_actions` block). A click
 * is acknowledged at once; the clicker's tenant is looked up afresh and the core stores the
 * feedback for that tenant's answer only (an answer of another workspace's tenant is "not found");
 * a later click replaces an earlier one. The clicker gets a private line either way.
 */
export function registerFeedbackListener(app: BoltApp, deps: ListenerDeps): void {
  app.action<BlockAction<FeedbackButtonsAction>>(FEEDBACK_ACTION_ID, async ({ ack, body, action, client }) => {
    await ack();
    const teamId = body.team?.id ?? body.user.team_id;
    const channel = body.channel?.id;
    const threadTs = (body.message?.thread_ts as string | undefined) ?? body.message?.ts;
    const tell = async (text: string) => {
      try {
        if (!channel) throw new Error('no channel');
        await client.chat.postEphemeral({
          channel,
          user: body.user.id,
          text,
          ...(threadTs ? { thread_ts: threadTs } : {}),
        });
      } catch (err) {
        deps.log.warn({ err }, 'chat.postEphemeral failed; answering via response_url');
        if (body.response_url)
          await postToResponseUrl(body.response_url, { response_type: 'ephemeral', replace_original: false, text });
      }
    };
    const given = parseFeedbackValue(action.value);
    if (!teamId || !given) return tell(FEEDBACK_THANKS.notFound);
    const who = await deps.intake.identify(
      'slack',
      slackWorkspace(teamId, body.enterprise?.id),
      slackPerson(client, body.user.id),
      { fresh: true },
    );
    const givenAt = clickTime(action.action_ts);
    const outcome = who
      ? await deps.conversations.feedback(who, { ...given, ...(givenAt ? { givenAt } : {}) })
      : 'not_found';
    const said = {
      saved: FEEDBACK_THANKS[given.rating],
      superseded: FEEDBACK_THANKS.superseded,
      not_found: FEEDBACK_THANKS.notFound,
    } as const;
    await tell(said[outcome]);
  });
}
