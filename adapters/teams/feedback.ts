import { z } from 'zod';
import type { Speaker } from '../../core/conversations/intake.ts';
import { publicMessage } from '../../core/errors.ts';
import type { TeamsHandlerDeps } from './deps.ts';
import { ADAPTIVE_CARD_CONTENT_TYPE, ADAPTIVE_CARD_VERSION, type AdaptiveCard } from './render.ts';
import type { InboundTurn, InvokeReply } from './transport.ts';

/** Id of the feedback form's reason input; Teams returns the form's values as JSON text in `actionValue.feedback`. */
const FEEDBACK_REASON_INPUT = 'reason';
/** Longest `feedback` text read (the form caps its input at 2,000 characters). */
const MAX_FEEDBACK_JSON = 16_000;

/** `message/fetchTask` of a custom feedback loop: which button was pressed. */
const fetchTaskValue = z.object({
  actionName: z.literal('feedback').optional(),
  actionValue: z.object({ reaction: z.enum(['like', 'dislike']) }),
});
/** `message/submitAction` with `actionName: "feedback"`: the reaction and the form's values as JSON text. */
const submitValue = z.object({
  actionName: z.literal('feedback'),
  actionValue: z.object({
    reaction: z.enum(['like', 'dislike']),
    feedback: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  }),
});
/** Inputs of the form: ours (`reason`) or Teams' default form (`feedbackText`). */
const formValues = z.object({ [FEEDBACK_REASON_INPUT]: z.string().optional(), feedbackText: z.string().optional() });

/**
 * The feedback form (`message/fetchTask` answer, a task module): "What went wrong?" on 👎, "What
 * was good?" on 👍, one optional text input and a Send button.
 */
function feedbackForm(reaction: 'like' | 'dislike'): InvokeReply {
  const question = reaction === 'dislike' ? 'What went wrong?' : 'What was good about this answer?';
  const card: AdaptiveCard = {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: ADAPTIVE_CARD_VERSION,
    body: [
      { type: 'TextBlock', text: question, wrap: true, weight: 'Bolder' },
      {
        type: 'Input.Text',
        id: FEEDBACK_REASON_INPUT,
        isMultiline: true,
        maxLength: 2000,
        placeholder: 'Optional — your workspace admin will read it.',
      },
      { type: 'ActionSet', actions: [{ type: 'Action.Submit', title: 'Send feedback' }] },
    ],
  };
  return {
    status: 200,
    body: {
      task: {
        type: 'continue',
        value: {
          title: reaction === 'dislike' ? 'What went wrong?' : 'Feedback',
          card: { contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card },
        },
      },
    },
  };
}

/** Answers `message/fetchTask` (a feedback button of a custom feedback loop) with the form. */
export function handleFeedbackForm(turn: InboundTurn): InvokeReply {
  const parsed = fetchTaskValue.safeParse(turn.activity.value);
  return feedbackForm(parsed.success ? parsed.data.actionValue.reaction : 'dislike');
}

/**
 * When the person clicked: the activity's `timestamp` (the Bot Framework sends it as an ISO
 * string; botbuilder's type says Date), undefined when absent or unreadable (stored as now).
 */
function clickTime(timestamp: Date | string | undefined): Date | undefined {
  if (timestamp === undefined) return undefined;
  const at = new Date(timestamp);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** The reason a person wrote, from the form's values (JSON text, or an object); undefined when none. */
function reasonOf(feedback: string | Record<string, unknown> | undefined): string | undefined {
  if (feedback === undefined) return undefined;
  let values: unknown = feedback;
  if (typeof feedback === 'string') {
    if (feedback.length > MAX_FEEDBACK_JSON) return undefined;
    try {
      values = JSON.parse(feedback);
    } catch {
      return feedback.trim() || undefined;
    }
  }
  const form = formValues.safeParse(values);
  return form.success ? (form.data[FEEDBACK_REASON_INPUT] ?? form.data.feedbackText)?.trim() || undefined : undefined;
}

/**
 * Stores the feedback of a `message/submitAction` invoke (`actionName: "feedback"`): the answer is
 * the one posted as the activity it replies to in this conversation, of the clicker's tenant only
 * (an activity of another tenant, or not an answer, stores nothing); a second submission replaces
 * the first. Always answered 200 — Teams shows its own confirmation; nothing about other tenants leaks.
 */
export async function handleFeedbackSubmit(
  deps: TeamsHandlerDeps,
  turn: InboundTurn,
  speaker: () => Promise<Speaker | undefined>,
): Promise<InvokeReply> {
  const a = turn.activity;
  try {
    const parsed = submitValue.safeParse(a.value);
    if (!parsed.success || !a.replyToId) return { status: 400, body: { error: 'This is not a feedback submission.' } };
    const who = await speaker();
    const answerId =
      who &&
      (await deps.intake.postedAnswer({
        tenantId: who.tenantId,
        platform: 'teams',
        conversation: a.conversation.id,
        messageRef: a.replyToId,
      }));
    const { reaction, feedback } = parsed.data.actionValue;
    const outcome =
      who && answerId
        ? await deps.conversations.feedback(who, {
            answerId,
            rating: reaction === 'like' ? 'up' : 'down',
            reason: reasonOf(feedback),
            givenAt: clickTime(a.timestamp),
          })
        : 'not_found';
    deps.log.info({ outcome, reaction }, 'teams feedback');
    return { status: 200, body: {} };
  } catch (err) {
    deps.log.error({ err }, 'teams feedback failed');
    return { status: 500, body: { error: publicMessage(err) } };
  }
}
