import { z } from 'zod';
import { explainedDecision } from '../../core/actions/card.ts';
import type { Decision } from '../../core/actions/plan.ts';
import type { Delivery } from '../../core/replies/delivery.ts';
import type { Speaker } from '../../core/conversations/intake.ts';
import { publicMessage } from '../../core/errors.ts';
import { cardActionOf } from './activity.ts';
import type { TeamsHandlerDeps } from './deps.ts';
import {
  ADAPTIVE_CARD_CONTENT_TYPE,
  renderAdaptiveCard,
  renderTeamsMessage,
  VERBS,
  type AdaptiveCard,
} from './render.ts';
import { unlinkedText } from './texts.ts';
import { STOP_VERB } from './stop-action.ts';
import { STOPPING_TEXT } from '../../core/conversations/stop-texts.ts';
import type { InboundTurn, InvokeReply } from './transport.ts';

/** The `adaptiveCard/action` response: HTTP 200 with a card that replaces the clicked one. */
function cardResponse(card: AdaptiveCard): InvokeReply {
  return { status: 200, body: { statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: card } };
}

const textCard = (text: string) => renderAdaptiveCard({ blocks: [{ type: 'text', text }] });

/**
 * Answers an `adaptiveCard/action` invoke (Confirm / Cancel / refresh / Stop). Always a card, never an
 * empty response (Teams retries those): unlinked, unknown, refused and failed clicks get a card
 * saying why, and nothing changes.
 */
export async function handleCardAction(
  deps: TeamsHandlerDeps,
  turn: InboundTurn,
  ctx: {
    aadTenant: string | undefined;
    speaker: () => Promise<Speaker | undefined>;
    delivery: (tenantId: string) => Delivery;
  },
): Promise<InvokeReply> {
  try {
    const action = cardActionOf(turn.activity);
    if (!action) return cardResponse(textCard('This button is not supported.'));
    const who = await ctx.speaker();
    if (!who)
      return cardResponse(
        textCard(
          ctx.aadTenant ? unlinkedText(ctx.aadTenant) : 'I cannot tell which organisation this click comes from.',
        ),
      );
    if (action.verb === STOP_VERB) {
      // Stop on a "working on it" card: the session id comes back from our own card; the core checks tenant, asker and role.
      const sessionId =
        typeof action.data.sessionId === 'string' && z.uuid().safeParse(action.data.sessionId).success
          ? action.data.sessionId
          : undefined;
      const outcome = sessionId
        ? await deps.conversations.stop(who, sessionId)
        : { status: 'idle' as const, text: 'Nothing is running in this conversation.' };
      deps.log.info({ sessionId, status: outcome.status }, 'teams stop clicked');
      return cardResponse(textCard(outcome.status === 'stopping' ? STOPPING_TEXT : outcome.text));
    }
    const actionId = typeof action.data.actionId === 'string' ? action.data.actionId : '';
    const known = Object.values(VERBS).some((v) => v === action.verb);
    if (known && !z.uuid().safeParse(actionId).success)
      return cardResponse(textCard('This confirmation was not found.'));
    let decision: Decision;
    switch (action.verb) {
      case VERBS.refresh:
        return cardResponse(
          renderAdaptiveCard(
            (await deps.intake.actionCard(who.tenantId, actionId)) ?? {
              blocks: [{ type: 'text', text: 'This confirmation was not found.' }],
            },
          ),
        );
      case VERBS.confirm:
        decision = await deps.conversations.confirm(who, actionId, ctx.delivery(who.tenantId));
        break;
      case VERBS.cancel:
        decision = await deps.conversations.cancel(who, actionId);
        break;
      default:
        return cardResponse(textCard('This button is not supported by this version of RenderBot.'));
    }
    deps.log.info({ actionId, verb: action.verb, status: decision.status, ok: decision.ok }, 'teams card action');
    // The resolved card, with the reason on top when nothing changed.
    const reply = decision.ok ? decision.reply : explainedDecision(decision);
    if (decision.ok && turn.activity.replyToId) {
      // Everyone else sees the decided card too, not only the clicker (the invoke response is per user).
      const resolved = renderTeamsMessage({ blocks: reply.blocks.filter((b) => b.type === 'confirm') });
      await turn
        .update(turn.activity.replyToId, resolved)
        .catch((err: unknown) => deps.log.warn({ err, actionId }, 'could not update the confirm card'));
    }
    return cardResponse(renderAdaptiveCard(reply));
  } catch (err) {
    deps.log.error({ err }, 'teams card action failed');
    return cardResponse(textCard(publicMessage(err)));
  }
}
