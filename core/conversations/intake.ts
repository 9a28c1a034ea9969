import { postedAnswer, rememberAnswerPost, type AnswerPosted } from '../history/feedback.ts';
import { randomUUID } from 'node:crypto';
import { confirmReply } from '../actions/card.ts';
import { findAction } from '../actions/store.ts';
import { claimReplays, markHandled, storeRequest, type StoredRequest } from '../queue/inbound-requests.ts';
import { monthlyUsage, type MonthlyUsage } from '../llm/usage.ts';
import type { IntakePool } from '../db/intake-pool.ts';
import type { Orm } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import type { Reply } from '../replies/reply.ts';
import {
  claimRefresh,
  deleteInstallation,
  findInstallation,
  refreshFailed,
  saveInstallation,
  saveRefreshed,
  type InstallationLookup,
  type InstallationRecord,
} from '../tenancy/installations.ts';
import type { Platform } from '../tenancy/roles.ts';
import { getTenantById } from '../tenancy/tenants.ts';
import { redeemLoginCode, verifyApiToken, type TokenIdentity } from '../tenancy/tokens.ts';
import { subjectSummary, setSessionSubject, type SessionSubject } from '../history/subject.ts';
import { createIdentity, type TenantRef } from './identify.ts';
import {
  deleteSession,
  findActiveSession,
  findUserSession,
  listSessionMessages,
  listUserSessions,
  resolveSession,
} from '../history/sessions.ts';

export type { Freshness, Person, PersonFacts, Speaker, Workspace } from './identify.ts';
export type { SessionListItem, VisibleMessage } from '../history/sessions.ts';
export type { SessionSubject } from '../history/subject.ts';
export type { TokenIdentity } from '../tenancy/tokens.ts';
export type { MonthlyUsage } from '../llm/usage.ts';
export type { InstallationLookup, InstallationRecord } from '../tenancy/installations.ts';
export type { StoredRequest } from '../queue/inbound-requests.ts';

/** A conversation thread of a tenant on a platform (`key`: the adapter's thread key, docs/design.md §3). */
export type Thread = { tenantId: string; platform: Platform; key: string };

/** A person of a tenant on a platform (whose own sessions the web API lists). */
export type Owner = { tenantId: string; platform: Platform; userId: string };

/** A tenant at a glance: name, whether AI is set up, this month's usage (Slack home tab, web `/api/me`). */
export type TenantOverview = { tenant: TenantRef & { aiProvider: string | null }; usage: MonthlyUsage };

/**
 * The core's inbound API (docs/design.md §1): everything an adapter needs besides starting turns and
 * deciding actions (`Conversations`) — who is speaking (tenant, role, guest rule, link codes),
 * which session a thread is, where a confirm card was posted, the web API's tokens and sessions,
 * subject summaries and Slack app installations. Adapters hold no database handle; each call
 * takes its connection per statement and gives it back.
 */
export type Intake = ReturnType<typeof createIntake>;

export function createIntake(deps: {
  orm: Orm;
  log: Logger;
  now: () => Date;
  secretsKey: Buffer;
  intakePool: IntakePool;
}) {
  const em = () => deps.orm.em.fork();
  const identity = createIdentity(deps);

  /**
   * The thread's active session id; with `create`, opened on first use by `userId` (a web
   * session key is made unique here when the adapter passes none).
   */
  async function sessionFor<C extends boolean>(
    thread: Thread,
    userId: string,
    opts: { create: C },
  ): Promise<C extends true ? string : string | undefined>;
  async function sessionFor(thread: Thread, userId: string, opts: { create: boolean }): Promise<string | undefined> {
    if (!opts.create) return (await findActiveSession(em(), thread.tenantId, thread.platform, thread.key))?.id;
    return (await resolveSession(em(), thread.tenantId, thread.platform, thread.key, userId)).id;
  }

  /** The confirm card of an action in its current state (a refresh), or undefined for unknown and other tenants' ids alike. */
  async function actionCard(tenantId: string, actionId: string): Promise<Reply | undefined> {
    const row = await findAction(em(), tenantId, actionId);
    return row ? confirmReply(row) : undefined;
  }

  async function overview(tenantId: string): Promise<TenantOverview | undefined> {
    const e = em();
    const t = await getTenantById(e, tenantId);
    if (!t) return undefined;
    return {
      tenant: { id: t.id, slug: t.slug, name: t.name, aiProvider: t.aiProvider },
      usage: await monthlyUsage(e, tenantId, deps.now()),
    };
  }

  return {
    ...identity,
    sessionFor,
    actionCard,
    /** Remembers where an agent answer was posted (Teams: its feedback names the activity, not the answer). */
    answerPosted: (p: AnswerPosted) => rememberAnswerPost(em(), p),
    /** The agent answer posted as `messageRef` in a conversation of the tenant; undefined when none (or another tenant's). */
    postedAnswer: (q: Omit<AnswerPosted, 'answerId'>) => postedAnswer(em(), q),
    overview,

    /** A new session of its own for one person (web chat: every conversation is one). */
    openSession: (owner: Owner) =>
      sessionFor(
        {
          tenantId: owner.tenantId,
          platform: owner.platform,
          key: `${owner.platform}:${owner.userId}:${randomUUID()}`,
        },
        owner.userId,
        { create: true },
      ),
    /** A person's own active session; undefined for other people's, other tenants' or unknown ids alike. */
    ownSession: async (owner: Owner, sessionId: string) =>
      (await findUserSession(em(), owner.tenantId, owner.platform, owner.userId, sessionId))?.id,
    /** A person's active sessions, newest activity first (`before`: the previous page's last `active_key` and id). */
    listSessions: (owner: Owner, page: { limit: number; before?: { lastActiveAt: string; id: string } }) =>
      listUserSessions(em(), owner.tenantId, owner.platform, owner.userId, page),
    /** A page of a session's visible messages, oldest first (call with a session `ownSession` returned). */
    sessionMessages: (sessionId: string, page: { limit: number; before?: number; after?: number }) =>
      listSessionMessages(em(), sessionId, page),
    /** Deletes a session with its messages and pending actions; false when not found. */
    deleteSession: (tenantId: string, sessionId: string) => deleteSession(em(), tenantId, sessionId),
    /** A live summary of an order or product of the tenant; UserInputError `context_not_found` for unknown and other tenants' ids alike. */
    subjectSummary: (tenantId: string, subject: SessionSubject) => subjectSummary(em(), tenantId, subject),
    /** Sets (or with undefined, clears) what a session is about. */
    setSessionSubject: (tenantId: string, sessionId: string, subject: SessionSubject | undefined) =>
      setSessionSubject(em(), tenantId, sessionId, subject),

    /** The identity of a web API token with the person's current role; undefined when unknown, revoked or the person was removed. */
    verifyToken: (token: string): Promise<TokenIdentity | undefined> => verifyApiToken(em(), token),
    /** Exchanges a one-time login code for a new API token (exactly once, in one transaction); undefined when not valid. */
    redeemLogin: async (code: string): Promise<{ token: string } | undefined> => {
      const redeemed = await em().transactional((tx) => redeemLoginCode(tx, code));
      return redeemed ? { token: redeemed.token } : undefined;
    },

    /**
     * Stores a platform request before it is acknowledged (one statement); false when this event
     * id came before (a retry or replay: the first copy is handled, or will be). A copy whose
     * handling did not finish is due for a replay after `replayAfterSeconds`.
     */
    storeRequest: (platform: Platform, eventId: string, request: unknown, replayAfterSeconds: number) =>
      storeRequest(deps.intakePool, platform, eventId, request, replayAfterSeconds),
    /** Marks a stored request handled without a queued turn (ignored, explained, answered directly). */
    requestHandled: (platform: Platform, eventId: string) => markHandled(em(), platform, eventId),
    /** Claims stored requests of `platform` whose handling did not finish, for a replay; each is due again after `retrySeconds`. */
    dueRequests: (platform: Platform, limit: number, retrySeconds: number): Promise<StoredRequest[]> =>
      claimReplays(em(), platform, limit, retrySeconds),

    /** Slack OAuth installations, stored encrypted under SECRETS_KEY (the Bolt installation store's backing). */
    installations: {
      find: (q: InstallationLookup) => findInstallation(em(), deps.secretsKey, q),
      save: (rec: InstallationRecord) => saveInstallation(em(), deps.secretsKey, rec),
      remove: (q: InstallationLookup) => deleteInstallation(em(), q),
      /** Token rotation across processes: claim the refresh, then store its result or its failure (see core/tenancy/installations.ts). */
      claimRefresh: (q: InstallationLookup, owner: string, seconds: number) => claimRefresh(em(), q, owner, seconds),
      saveRefreshed: (q: InstallationLookup, installation: unknown, owner: string) =>
        saveRefreshed(em(), deps.secretsKey, q, installation, owner),
      refreshFailed: (q: InstallationLookup, owner: string, error: string) => refreshFailed(em(), q, owner, error),
    },
  };
}
