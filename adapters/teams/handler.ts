import type { TurnScope } from '../../core/turn-scope.ts';
import { suggestedActions } from './suggestions.ts';
import type { Delivery } from '../../core/replies/delivery.ts';
import type { Freshness, Person, Speaker } from '../../core/conversations/intake.ts';
import { isStopRequest, parseCommand } from '../../core/commands/grammar.ts';
import {
  aadTenantOf,
  botWasAdded,
  cleanText,
  eventIdOf,
  isGuest,
  sessionKeyOf,
  userIdOf,
  type TeamsActivity,
} from './activity.ts';
import { handleCardAction } from './invoke.ts';
import { handleFeedbackForm, handleFeedbackSubmit } from './feedback.ts';
import { deliverConsentedFile, readFileConsent } from './file-consent.ts';
import { linkedText, textMessage, unlinkedText, welcomeText } from './texts.ts';
import type { ConversationRef, InboundTurn, InvokeReply } from './transport.ts';
import type { TeamsHandlerDeps, TeamsIntake } from './deps.ts';
import { CHANNEL_FILE_TEXT, downloadTeamsFile, sharesFile, teamsFiles } from './files.ts';
import { UserInputError } from '../../core/errors.ts';

export type { TeamsHandlerDeps, TeamsIntake };

/** The AAD tenant the Bot Framework Emulator's activities (which carry none) count as. */
const EMULATOR_AAD_TENANT = 'emulator';

/**
 * The sender of an activity for the core's intake: guests and anonymous participants (by the
 * activity) are guests; otherwise the member roster (TeamsInfo) is asked, and when it cannot
 * answer the activity decides.
 */
function teamsPerson(turn: InboundTurn): Person {
  const a = turn.activity;
  return {
    id: userIdOf(a),
    guest: isGuest(a),
    ...(a.from.name ? { name: a.from.name } : {}),
    lookup: async () => {
      const memberRole = await turn.memberRole();
      return memberRole === undefined ? undefined : { guest: isGuest(a, memberRole) };
    },
  };
}

/**
 * The Teams turn logic: tenant link first (unlinked → instructions, no LLM), then role,
 * session and a durable queued turn; conversationUpdate welcomes; card actions decide.
 */
export function createTeamsHandler(deps: TeamsHandlerDeps) {
  const log = deps.log;

  /** The conversation reference replies go to; without activityId they post into the conversation/thread. */
  const deliveryRef = (ref: ConversationRef): ConversationRef => {
    const { activityId: _activityId, ...rest } = ref;
    return rest;
  };

  /** Link, then role; undefined when the organisation is not linked. Messages reuse both; card actions (`fresh`) decide on fresh ones. */
  const speaker = (turn: InboundTurn, aadTenant: string, opts: Freshness = {}): Promise<Speaker | undefined> =>
    deps.intake.identify('teams', { id: aadTenant }, teamsPerson(turn), opts);

  const aadOf = (a: TeamsActivity) => aadTenantOf(a) ?? (deps.emulator ? EMULATOR_AAD_TENANT : undefined);

  async function onMessage(turn: InboundTurn): Promise<void> {
    const a = turn.activity;
    const aad = aadOf(a);
    if (!aad) {
      await turn.send(
        textMessage('I cannot tell which Microsoft 365 organisation this message comes from, so I cannot answer it.'),
      );
      return;
    }
    const files = a.conversation.conversationType === 'personal' ? teamsFiles(a) : [];
    const text = cleanText(turn.textWithoutMention || a.text || '') || (files.length ? 'I attached a file.' : 'help');
    const who = await speaker(turn, aad);
    if (!who) {
      const cmd = parseCommand(text);
      if (cmd?.name === 'link') {
        const outcome = await deps.intake.redeemLink(cmd.code, 'teams', { id: aad }, teamsPerson(turn));
        await turn.send(
          textMessage(outcome.ok ? linkedText(outcome.tenant.name, outcome.tenant.slug) : outcome.message),
        );
        return;
      }
      log.info({ aadTenant: aad }, 'message from an unlinked teams organisation');
      await turn.send(textMessage(unlinkedText(aad)));
      return;
    }
    if (a.conversation.conversationType !== 'personal' && sharesFile(a)) {
      // In channels and group chats the file's bytes never reach a bot: say where it works instead of ignoring it.
      await turn.send(textMessage(CHANNEL_FILE_TEXT));
      return;
    }
    const fileIds: string[] = [];
    try {
      if (files.length && !deps.files)
        throw new UserInputError('files_unsupported', 'Files cannot be read here; upload them in the web panel.');
      for (const f of files) {
        const bytes = await downloadTeamsFile(f);
        fileIds.push(
          (await deps.files!.upload({ tenantId: who.tenantId, platform: 'teams', userId: who.userId }, f.name, bytes))
            .fileId,
        );
      }
    } catch (err) {
      if (!(err instanceof UserInputError)) throw err;
      await turn.send(textMessage(err.message));
      return;
    }
    const sessionId = await deps.intake.sessionFor(
      { tenantId: who.tenantId, platform: 'teams', key: sessionKeyOf(aad, a) },
      who.userId,
      { create: true },
    );
    const scope: TurnScope = {
      tenantId: who.tenantId,
      userId: who.userId,
      role: who.role,
      sessionId,
      platform: 'teams',
      shared: a.conversation.conversationType !== 'personal',
    };
    const delivery: Delivery = {
      platform: 'teams',
      target: { tenantId: who.tenantId, conversationReference: deliveryRef(turn.reference) },
    };
    if (isStopRequest(text)) {
      // Handled on arrival: queued, it would wait behind the very turn it stops; the stopped turn says so itself.
      const outcome = await deps.conversations.stop(who, sessionId);
      log.info({ sessionId, status: outcome.status }, 'stop asked for');
      if (outcome.status !== 'stopping') await turn.send(textMessage(outcome.text));
      return;
    }
    const eventId = eventIdOf(aad, a);
    const { status } = await deps.conversations.submit({
      turn: scope,
      text,
      delivery,
      ...(eventId ? { eventId } : {}),
      ...(fileIds.length ? { files: fileIds } : {}),
    });
    log.debug({ sessionId, status }, 'teams message');
    if (status === 'queued') {
      await turn
        .send({ type: 'typing' })
        .catch((err: unknown) => log.warn({ err }, 'could not send the typing indicator'));
    }
  }

  async function onConversationUpdate(turn: InboundTurn): Promise<void> {
    const a = turn.activity;
    if (!botWasAdded(a)) return;
    const aad = aadOf(a);
    if (!aad) return;
    const linked = await deps.intake.tenantOf('teams', { id: aad }, { fresh: true });
    // In a personal chat the welcome offers where to start, from the tenant's state (the person's role decides which).
    const who = linked && a.conversation.conversationType === 'personal' ? await speaker(turn, aad) : undefined;
    const starters = who ? await deps.conversations.starters(who.tenantId, who.role) : [];
    await turn.send({
      ...textMessage(welcomeText(Boolean(linked), aad)),
      ...(starters.length ? { suggestedActions: suggestedActions(starters) } : {}),
    });
  }

  /** Runs one authenticated activity; returns the invoke answer for invokes. */
  async function handle(turn: InboundTurn): Promise<InvokeReply | void> {
    const a = turn.activity;
    switch (a.type) {
      case 'message':
        return onMessage(turn);
      case 'conversationUpdate':
        return onConversationUpdate(turn);
      case 'invoke': {
        if (a.name === 'fileConsent/invoke' && deps.exportFile) {
          const consent = readFileConsent(a.value);
          if (!consent) return { status: 400, body: { error: 'not a file consent answer' } };
          // The file goes only to someone of the tenant the link was made for (files.ts checks the link against it).
          const aad = aadOf(a);
          const who = aad ? await speaker(turn, aad, { fresh: true }) : undefined;
          // Teams waits seconds, not minutes, for an invoke's answer; making the export and uploading
          // it (up to 50 MB) can take longer, so the invoke is answered first and the outcome is sent.
          const exportFile = deps.exportFile;
          const reference = deliveryRef(turn.reference);
          deps.afterAnswer((signal) =>
            deliverConsentedFile(
              { exportFile, log },
              consent,
              who?.tenantId,
              (m) => deps.sendLater(reference, m),
              signal,
            ),
          );
          return { status: 200, body: {} };
        }
        const aad = aadOf(a);
        // The feedback loop of agent answers (👍/👎 under the message): the form, then its submission.
        if (a.name === 'message/fetchTask') return handleFeedbackForm(turn);
        if (a.name === 'message/submitAction')
          return handleFeedbackSubmit(
            deps,
            turn,
            aad ? () => speaker(turn, aad, { fresh: true }) : async () => undefined,
          );
        if (a.name !== 'adaptiveCard/action')
          return { status: 501, body: { error: `invoke ${a.name ?? ''} is not supported` } };
        return handleCardAction(deps, turn, {
          aadTenant: aad,
          speaker: aad ? () => speaker(turn, aad, { fresh: true }) : async () => undefined,
          delivery: (tenantId) => ({
            platform: 'teams',
            target: { tenantId, conversationReference: deliveryRef(turn.reference) },
          }),
        });
      }
      default:
        return undefined;
    }
  }

  return { handle };
}
