/**
 * The only file that imports botbuilder and its botframework-connector (docs/design.md §10): request
 * authentication, the turn's outbound calls, proactive sends. Moving to the Microsoft 365 Agents SDK
 * (@microsoft/agents-hosting: same CloudAdapter/TurnContext shape) means rewriting this file.
 */
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  ConfigurationServiceClientCredentialFactory,
  TeamsInfo,
  TurnContext,
  type Activity,
  type ConversationReference,
} from 'botbuilder';
import {
  AppCredentials,
  AuthenticationConstants,
  AuthenticationError,
  GovernmentConstants,
} from 'botframework-connector';
import type { Logger } from '../../core/logger.ts';
import type { OutgoingMessage, StreamChunk, TeamsActivity } from './activity.ts';
import type { ActiveTeamsSettings } from './config.ts';
import { createRequire } from 'node:module';

/**
 * botframework-connector serializes an activity's entities through a mapper that knows only
 * `type`, `text` and `mentioned`, and drops every other field: the AI label entity (`@type`,
 * `additionalType`, `citation`, docs/design.md §12) would reach Teams empty. Entities are open in
 * the Activity protocol, so the serializer is told to pass their other fields on unchanged.
 */
function keepEntityFields(): void {
  const mappers: unknown = createRequire(import.meta.url)('botframework-connector/lib/connectorApi/models/mappers.js');
  const entity = (mappers as { Entity?: { type?: { name?: string; additionalProperties?: unknown } } }).Entity?.type;
  if (entity?.name !== 'Composite')
    throw new Error('botframework-connector changed its Entity mapper; check keepEntityFields');
  entity.additionalProperties ??= { type: { name: 'Object' } };
}
keepEntityFields();

/** A request with a parsed JSON body, as CloudAdapter wants it. */
export type TransportRequest = {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
};
/** The response surface CloudAdapter writes to. */
export type TransportResponse = {
  socket: unknown;
  status(code: number): void;
  header(name: string, value: unknown): void;
  send(body?: unknown): void;
  end(): void;
};

/** A conversation reference, stored as JSON in queued deliveries and action message refs. */
export type ConversationRef = Record<string, unknown>;

/** The synchronous response to an invoke activity; Teams retries invokes that get none. */
export type InvokeReply = { status: number; body: unknown };

/** One authenticated inbound activity with the calls its handler may make. */
export type InboundTurn = {
  activity: TeamsActivity;
  reference: ConversationRef;
  /** The message text with the bot's own @mention removed. */
  textWithoutMention: string;
  /** Sends into the activity's conversation (a reply to it); returns the new activity id. */
  send(message: OutgoingMessage | { type: 'typing' }): Promise<string | undefined>;
  /** Replaces a message the bot sent earlier (e.g. a confirm card after a decision). */
  update(activityId: string, message: OutgoingMessage): Promise<void>;
  /** Teams' `userRole` of the sender from the roster (user | guest | anonymous), if it can be read. */
  memberRole(): Promise<string | undefined>;
};

export type TeamsTransport = {
  /** Authenticates the request (401 on a missing/invalid token unless in Emulator mode) and runs `logic`. */
  process(
    req: TransportRequest,
    res: TransportResponse,
    logic: (turn: InboundTurn) => Promise<InvokeReply | void>,
  ): Promise<void>;
  /** Sends a message into a stored conversation, outside any request (replies of queued turns). */
  sendProactive(reference: ConversationRef, message: OutgoingMessage | StreamChunk): Promise<{ activityId?: string }>;
  /** Updates a message sent earlier into a stored conversation. */
  updateProactive(reference: ConversationRef, activityId: string, message: OutgoingMessage): Promise<void>;
};

/** A Bot Framework transport over botbuilder's CloudAdapter and ConfigurationBotFrameworkAuthentication. */
export function createBotFrameworkTransport(settings: ActiveTeamsSettings, log: Logger): TeamsTransport {
  const auth =
    settings.mode === 'emulator'
      ? new StrictAuthentication({})
      : new StrictAuthentication({
          MicrosoftAppId: settings.appId,
          MicrosoftAppType: settings.appType,
          ...(settings.appPassword ? { MicrosoftAppPassword: settings.appPassword } : {}),
          ...(settings.tenantId ? { MicrosoftAppTenantId: settings.tenantId } : {}),
          ...settings.cloud,
        });
  const adapter = new CloudAdapter(auth);
  const appId = settings.mode === 'emulator' ? '' : settings.appId;
  adapter.onTurnError = async (_context, error) => {
    log.error({ err: error }, 'teams turn failed');
    // Rethrown so the request fails with 500 and the Bot Framework redelivers; queued turns dedupe by activity id.
    throw error;
  };

  const inbound = (ctx: TurnContext): InboundTurn => {
    const activity = ctx.activity as unknown as TeamsActivity;
    return {
      activity,
      reference: TurnContext.getConversationReference(ctx.activity) as ConversationRef,
      textWithoutMention: activity.type === 'message' ? (TurnContext.removeRecipientMention(ctx.activity) ?? '') : '',
      async send(message) {
        return (await ctx.sendActivity(message as Partial<Activity>))?.id;
      },
      async update(activityId, message) {
        await ctx.updateActivity({ ...(message as Partial<Activity>), id: activityId });
      },
      async memberRole() {
        try {
          return (await TeamsInfo.getMember(ctx, ctx.activity.from.id)).userRole;
        } catch (err) {
          log.debug({ err }, 'could not read the Teams roster; deciding the role from the activity');
          return undefined;
        }
      },
    };
  };

  return {
    async process(req, res, logic) {
      await adapter.process(req, res, async (ctx) => {
        const response = await logic(inbound(ctx));
        if (response) await ctx.sendActivity({ type: 'invokeResponse', value: response });
      });
    },
    async sendProactive(reference, message) {
      let activityId: string | undefined;
      await adapter.continueConversationAsync(appId, reference as Partial<ConversationReference>, async (ctx) => {
        activityId = (await ctx.sendActivity(message as Partial<Activity>))?.id;
      });
      return activityId ? { activityId } : {};
    },
    async updateProactive(reference, activityId, message) {
      await adapter.continueConversationAsync(appId, reference as Partial<ConversationReference>, async (ctx) => {
        await ctx.updateActivity({ ...(message as Partial<Activity>), id: activityId });
      });
    },
  };
}

/**
 * Asks the configured cloud's login endpoint (`ToChannelFromBotLoginUrl`, public Azure unless set)
 * for a Bot Framework token with the bot's credentials, as its first outbound call would. Resolves
 * once a token came back; rejects with the login's error (a wrong secret, an unknown app id or
 * tenant, an unreachable endpoint) otherwise.
 */
export async function fetchBotToken(settings: Extract<ActiveTeamsSettings, { mode: 'botframework' }>): Promise<void> {
  const factory = new ConfigurationServiceClientCredentialFactory({
    MicrosoftAppId: settings.appId,
    MicrosoftAppType: settings.appType,
    ...(settings.appPassword ? { MicrosoftAppPassword: settings.appPassword } : {}),
    ...(settings.tenantId ? { MicrosoftAppTenantId: settings.tenantId } : {}),
  });
  const cloud =
    settings.cloud?.ChannelService === GovernmentConstants.ChannelService
      ? GovernmentConstants
      : AuthenticationConstants;
  const loginUrl = settings.cloud?.ToChannelFromBotLoginUrl ?? cloud.ToChannelFromBotLoginUrl;
  const scope = settings.cloud?.ToChannelFromBotOAuthScope ?? cloud.ToChannelFromBotOAuthScope;
  const credentials = await factory.createCredentials(settings.appId, scope, loginUrl, true);
  if (!(credentials instanceof AppCredentials))
    throw new Error('botbuilder made no credentials that fetch tokens for these settings');
  await credentials.getToken(true);
}

/**
 * botbuilder rethrows jsonwebtoken's errors for a token with a bad signature, audience or
 * issuer as they are, and CloudAdapter answers those with 500 — which the Bot Framework retries.
 * Every failed token check is an authentication failure: 401.
 */
class StrictAuthentication extends ConfigurationBotFrameworkAuthentication {
  override async authenticateRequest(
    ...args: Parameters<ConfigurationBotFrameworkAuthentication['authenticateRequest']>
  ) {
    try {
      return await super.authenticateRequest(...args);
    } catch (err) {
      if (err instanceof AuthenticationError || !(err instanceof Error) || !jwtErrors.includes(err.name)) throw err;
      throw new AuthenticationError(`Invalid token: ${err.message}`, 401);
    }
  }
}

const jwtErrors = ['JsonWebTokenError', 'NotBeforeError', 'TokenExpiredError'];
