import type { TurnContext } from '../../core/context.ts';
import type { Delivery } from '../../core/conversations/delivery.ts';
import type { Conversations } from '../../core/conversations/service.ts';
import { resolveSession } from '../../core/conversations/sessions.ts';
import type { Orm } from '../../core/db/orm.ts';
import { publicMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { parseCommand } from '../../core/commands/grammar.ts';
import { redeemLinkCode, resolveLink } from '../../core/tenancy/links.ts';
import type { Role } from '../../core/tenancy/roles.ts';
import type { TenantRow } from '../../core/tenancy/tenants.ts';
import { ensureUser } from '../../core/tenancy/users.ts';
import { createTtlCache, INTAKE_CACHE_TTL_MS } from '../../core/cache.ts';
import { aadTenantOf, botWasAdded, cleanText, eventIdOf, isGuest, sessionKeyOf, userIdOf, type TeamsActivity } from './activity.ts';
import { handleCardAction } from './invoke.ts';
import { linkedText, textMessage, unlinkedText, welcomeText } from './texts.ts';
import type { ConversationRef, InboundTurn, InvokeReply } from './transport.ts';

/** What the Teams turn logic needs from the core. */
export type TeamsHandlerDeps = {
  orm: Orm;
  conversations: Conversations;
  log: Logger;
  /** Emulator mode: activities without an AAD tenant are treated as tenant `emulator`. */
  emulator: boolean;
};

/** How long a roster lookup (guest or member) is reused. */
export const ROLE_CACHE_MS = 10 * 60 * 1000;
const ROLE_CACHE_MAX = 10_000;
/** The AAD tenant the Bot Framework Emulator's activities (which carry none) count as. */
export const EMULATOR_AAD_TENANT = 'emulator';

/** A resolved speaker: linked tenant plus role. */
export type Speaker = { tenant: TenantRow; aadTenant: string; userId: string; role: Role };

/**
 * The Teams turn logic: tenant link first (unlinked → instructions, no LLM), then role,
 * session and a durable queued turn; conversationUpdate welcomes; card actions decide.
 */
export function createTeamsHandler(deps: TeamsHandlerDeps) {
  const log = deps.log;
  const guests = createTtlCache<boolean>({ ttlMs: ROLE_CACHE_MS, max: ROLE_CACHE_MAX });
  const tenants = createTtlCache<TenantRow>({ ttlMs: INTAKE_CACHE_TTL_MS, max: ROLE_CACHE_MAX });
  const roles = createTtlCache<Role>({ ttlMs: INTAKE_CACHE_TTL_MS, max: ROLE_CACHE_MAX });

  /** The conversation reference replies go to; without activityId they post into the conversation/thread. */
  const deliveryRef = (ref: ConversationRef): ConversationRef => {
    const { activityId: _activityId, ...rest } = ref;
    return rest;
  };

  async function guest(turn: InboundTurn, aadTenant: string): Promise<boolean> {
    const a = turn.activity;
    if (isGuest(a)) return true;
    let fresh = false;
    const cached = await guests.getOrLoad(`${aadTenant}:${userIdOf(a)}`, async () => {
      const memberRole = await turn.memberRole();
      fresh = isGuest(a, memberRole);
      // Only a roster answer is kept; without one the activity decided, and the roster is asked again next time.
      return memberRole === undefined ? undefined : fresh;
    });
    return cached ?? fresh;
  }

  /** Link, then role; undefined when the organisation is not linked. `reuse`: take both from the intake cache (messages; card actions decide on fresh ones). */
  async function speaker(turn: InboundTurn, aadTenant: string, opts: { reuse?: boolean } = {}): Promise<Speaker | undefined> {
    const em = deps.orm.em.fork();
    const link = () => resolveLink(em, 'teams', aadTenant);
    const tenant = opts.reuse ? await tenants.getOrLoad(aadTenant, link) : await link();
    if (!tenant) return undefined;
    const a = turn.activity;
    const userId = userIdOf(a);
    const ensure = async () => ensureUser(em, tenant.id, 'teams', userId, (await guest(turn, aadTenant)) ? 'viewer' : 'operator', a.from.name);
    const role = opts.reuse ? (await roles.getOrLoad(`${tenant.id}:${userId}`, ensure))! : await ensure();
    return { tenant, aadTenant, userId, role };
  }

  const aadOf = (a: TeamsActivity) => aadTenantOf(a) ?? (deps.emulator ? EMULATOR_AAD_TENANT : undefined);

  async function onMessage(turn: InboundTurn): Promise<void> {
    const a = turn.activity;
    const aad = aadOf(a);
    if (!aad) {
      await turn.send(textMessage('I cannot tell which Microsoft 365 organisation this message comes from, so I cannot answer it.'));
      return;
    }
    const text = cleanText(turn.textWithoutMention || a.text || '') || 'help';
    const em = deps.orm.em.fork();
    const who = await speaker(turn, aad, { reuse: true });
    if (!who) {
      const cmd = parseCommand(text);
      if (cmd?.name === 'link') {
        try {
          const t = await redeemLinkCode(em, cmd.code, 'teams', aad, userIdOf(a));
          log.info({ tenant: t.slug, aadTenant: aad }, 'teams organisation linked with a code');
          await turn.send(textMessage(linkedText(t.name, t.slug)));
        } catch (err) {
          await turn.send(textMessage(publicMessage(err)));
        }
        return;
      }
      log.info({ aadTenant: aad }, 'message from an unlinked teams organisation');
      await turn.send(textMessage(unlinkedText(aad)));
      return;
    }
    const session = await resolveSession(em, who.tenant.id, 'teams', sessionKeyOf(aad, a), who.userId);
    const ctx: TurnContext = { tenantId: who.tenant.id, userId: who.userId, role: who.role, sessionId: session.id, platform: 'teams', shared: a.conversation.conversationType !== 'personal' };
    const delivery: Delivery = { platform: 'teams', target: { tenantId: who.tenant.id, conversationReference: deliveryRef(turn.reference) } };
    const eventId = eventIdOf(aad, a);
    const { status } = await deps.conversations.submit({ turn: ctx, text, delivery, ...(eventId ? { eventId } : {}) });
    log.debug({ sessionId: session.id, status }, 'teams message');
    if (status === 'queued') {
      await turn.send({ type: 'typing' }).catch((err: unknown) => log.warn({ err }, 'could not send the typing indicator'));
    }
  }

  async function onConversationUpdate(turn: InboundTurn): Promise<void> {
    const a = turn.activity;
    if (!botWasAdded(a)) return;
    const aad = aadOf(a);
    if (!aad) return;
    const linked = await resolveLink(deps.orm.em.fork(), 'teams', aad);
    await turn.send(textMessage(welcomeText(Boolean(linked), aad)));
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
        if (a.name !== 'adaptiveCard/action') return { status: 501, body: { error: `invoke ${a.name ?? ''} is not supported` } };
        const aad = aadOf(a);
        return handleCardAction(deps, turn, {
          aadTenant: aad,
          speaker: aad ? () => speaker(turn, aad) : async () => undefined,
          delivery: (tenantId) => ({ platform: 'teams', target: { tenantId, conversationReference: deliveryRef(turn.reference) } }),
        });
      }
      default:
        return undefined;
    }
  }

  return { handle };
}
