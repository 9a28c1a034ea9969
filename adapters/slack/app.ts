import {
  App as BoltApp,
  defaultBodyLimit,
  HTTPReceiver,
  SocketModeReceiver,
  webApi,
  type Authorize,
  type Installation,
} from '@slack/bolt';
import type { DatabaseAvailability } from '../../core/availability.ts';
import type { Deliverer, Streamer } from '../../core/replies/delivery.ts';
import type { Intake } from '../../core/conversations/intake.ts';
import { ConfigError, PlatformError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { HttpRequest, HttpResponse, HttpRoute } from '../http.ts';
import { registerActionListeners } from './actions.ts';
import { registerFeedbackListener } from './feedback.ts';
import { createSlackDeliverer, rateLimitedFor, type TokenResolver } from './deliver.ts';
import { createChannelPacer } from '../../core/pacer.ts';
import { createSlackStreamer } from './stream.ts';
import { registerHomeListener } from './home.ts';
import { registerStopListeners } from './stop.ts';
import { registerSuggestionListener } from './suggestions.ts';
import { createInstallationStore } from './installations.ts';
import { boltLogger } from './log.ts';
import { registerMessageListeners, type SlackCore, type SlackIntake } from './messages.ts';
import { slackFileOrigin } from './files.ts';
import type { Files } from '../../core/files/service.ts';
import { oauthPages } from './oauth-pages.ts';
import { createSlackReceipt } from './receipt.ts';
import { createTokenRotation } from './token-rotation.ts';
import type { FileExporter } from '../../core/exports/files.ts';

/** Bot scopes requested at install time; keep in sync with manifest/slack/manifest.yaml. */
export const BOT_SCOPES = [
  'commands',
  'chat:write',
  'app_mentions:read',
  'channels:history',
  'groups:history',
  'im:history',
  'im:write',
  'users:read',
  'assistant:write',
  'files:read',
  'files:write',
];

/** Paths the adapter serves (docs/design.md §9). */
export const SLACK_PATHS = {
  events: '/slack/events',
  install: '/slack/install',
  redirect: '/slack/oauth_redirect',
} as const;

/**
 * Slack settings, from SLACK_* variables. Modes: single workspace (signingSecret + botToken),
 * OAuth multi-workspace (signingSecret + clientId/clientSecret/stateSecret), Socket Mode
 * (appToken + botToken; no public HTTP endpoint).
 */
export type SlackSettings = {
  signingSecret?: string;
  botToken?: string;
  clientId?: string;
  clientSecret?: string;
  stateSecret?: string;
  appToken?: string;
  /** Web API base URL (tests, proxies); default https://slack.com/api/. */
  apiUrl?: string;
  /** Public base URL; sets the OAuth redirect_uri to PUBLIC_URL/slack/oauth_redirect. */
  publicUrl?: string;
};

/** What the adapter needs: its settings, and the core's conversations and intake (never a database handle, docs/design.md §1). */
export type SlackAdapterDeps = {
  settings: SlackSettings;
  conversations: SlackCore;
  intake: SlackIntake & Pick<Intake, 'installations' | 'storeRequest' | 'dueRequests'>;
  /** Whether the database is reachable: outages are refused and logged once, not per request. */
  availability: DatabaseAvailability;
  log: Logger;
  /** Uploaded files (core/files): file shares are downloaded and handed over. */
  files?: Pick<Files, 'upload'>;
  /** Makes exported files for upload; without it files are shared as links. */
  exportFile?: FileExporter;
};

/** The running adapter: HTTP routes to mount, the reply deliverer, lifecycle. */
export type SlackAdapter = {
  mode: 'single' | 'oauth' | 'socket';
  routes: HttpRoute[];
  deliverer: Deliverer;
  streamer: Streamer;
  start(): Promise<void>;
  stop(): Promise<void>;
};

/** Which mode the settings select, or a ConfigError naming what is missing. */
export function slackMode(s: SlackSettings): SlackAdapter['mode'] {
  if (s.appToken) {
    if (!s.botToken)
      throw new ConfigError('config_invalid', 'SLACK_APP_TOKEN (Socket Mode) also needs SLACK_BOT_TOKEN.');
    return 'socket';
  }
  if (!s.signingSecret)
    throw new ConfigError('config_invalid', 'Slack needs SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode).');
  if (s.clientId || s.clientSecret || s.stateSecret) {
    const missing = (['clientId', 'clientSecret', 'stateSecret'] as const).filter((k) => !s[k]);
    if (missing.length)
      throw new ConfigError(
        'config_invalid',
        `Slack OAuth needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET; missing: ${missing.map((k) => `SLACK_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`).join(', ')}.`,
      );
    return 'oauth';
  }
  if (!s.botToken)
    throw new ConfigError(
      'config_invalid',
      'Slack needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET/SLACK_STATE_SECRET (OAuth).',
    );
  return 'single';
}

/**
 * Builds the Slack adapter on Bolt (docs/style.md §2): a Bolt App whose HTTPReceiver request listener
 * is mounted as routes on the bot's server behind receipt.ts (the one signature check, with the
 * 5-minute window; the request stored first), url_verification, ack-first with
 * processBeforeResponse false — or a SocketModeReceiver.
 */
export function createSlackAdapter(deps: SlackAdapterDeps): SlackAdapter {
  const mode = slackMode(deps.settings);
  const log = deps.log.child({ component: 'slack' });
  const logger = boltLogger(log);
  const slackApiUrl = deps.settings.apiUrl ? deps.settings.apiUrl.replace(/\/?$/, '/') : undefined;
  // A rate-limited call is rejected, not waited for inside the client (which would pause every workspace's calls): deliveries wait per channel (pacer.ts).
  const clientOptions = {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    retryConfig: { retries: 3, factor: 2, minTimeout: 500 },
    rejectRateLimitedCalls: true,
  };
  const rotation =
    mode === 'oauth'
      ? createTokenRotation({
          client: new webApi.WebClient(undefined, { ...clientOptions, logger }),
          clientId: deps.settings.clientId!,
          clientSecret: deps.settings.clientSecret!,
          installations: deps.intake.installations,
          log,
        })
      : undefined;
  const store = createInstallationStore(deps.intake.installations, rotation);
  const s = deps.settings;

  let receiver: HTTPReceiver | SocketModeReceiver;
  if (mode === 'socket') {
    receiver = new SocketModeReceiver({ appToken: s.appToken!, logger });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: s.signingSecret!,
      // receipt.ts checks every request's signature before Bolt sees it; a second check per request is CPU for nothing.
      signatureVerification: false,
      endpoints: SLACK_PATHS.events,
      processBeforeResponse: false,
      logger,
      ...(mode === 'oauth'
        ? {
            clientId: s.clientId!,
            clientSecret: s.clientSecret!,
            stateSecret: s.stateSecret!,
            scopes: BOT_SCOPES,
            installationStore: store,
            ...(s.publicUrl ? { redirectUri: `${s.publicUrl.replace(/\/$/, '')}${SLACK_PATHS.redirect}` } : {}),
            installerOptions: {
              directInstall: true,
              installPath: SLACK_PATHS.install,
              redirectUriPath: SLACK_PATHS.redirect,
              clientOptions,
              callbackOptions: oauthPages(log),
            },
          }
        : {}),
    });
  }

  const authorize = mode === 'oauth' ? undefined : singleTokenAuthorize(s.botToken!, () => bolt.client);
  // Own-bot and other bot messages are filtered by the listeners (and logged), not by Bolt's ignoreSelf.
  const bolt: BoltApp = new BoltApp({
    receiver,
    logger,
    clientOptions,
    ignoreSelf: false,
    ...(authorize ? { authorize } : {}),
  });
  bolt.error(async (err) => {
    // A request cut short by a database outage was stored first and is replayed (receipt.ts); the outage is logged once.
    if (!deps.availability.report(err.original ?? err)) log.error({ err }, 'Slack listener failed');
  });

  const tokenFor: TokenResolver =
    mode === 'oauth'
      ? async (t) => {
          const inst: Installation | undefined = await store.find(t);
          if (!inst?.bot?.token)
            throw new PlatformError(
              'slack_not_installed',
              `RenderBot is not installed in Slack team ${t.teamId}; install it via ${SLACK_PATHS.install}.`,
            );
          return inst.bot.token;
        }
      : async () => s.botToken!;

  const listenerDeps = {
    conversations: deps.conversations,
    intake: deps.intake,
    log,
    replayable: mode !== 'socket',
    ...(deps.files ? { files: deps.files, fileOrigin: slackFileOrigin(deps.settings.apiUrl) } : {}),
  };
  registerMessageListeners(bolt, listenerDeps);
  registerActionListeners(bolt, listenerDeps);
  registerFeedbackListener(bolt, listenerDeps);
  registerStopListeners(bolt, listenerDeps);
  registerHomeListener(bolt, listenerDeps);
  registerSuggestionListener(bolt, listenerDeps);

  const routes: HttpRoute[] = [];
  const receipt = createSlackReceipt({
    signingSecret: s.signingSecret ?? '',
    intake: deps.intake,
    availability: deps.availability,
    log,
  });
  let stopReplays: (() => void) | undefined;
  if (receiver instanceof HTTPReceiver) {
    receipt.markClicksHandled(bolt);
    const listener = receiver.requestListener;
    // Bolt reads `req.rawBody` (the server read it; Bolt takes a request that carries it as already buffered).
    const handle = (req: HttpRequest, res: HttpResponse) =>
      new Promise<void>((resolve) => {
        res.once('close', () => resolve());
        try {
          listener(req, res);
        } catch (err) {
          log.warn({ err, url: req.url }, 'unhandled Slack request');
          if (!res.headersSent) res.sendRaw(404, '');
        }
      });
    routes.push({
      method: 'POST',
      path: SLACK_PATHS.events,
      body: { kind: 'raw', maxBytes: defaultBodyLimit },
      handle: (req, res) => receipt.receive(req, res, handle),
    });
    if (mode === 'oauth')
      routes.push(
        { method: 'GET', path: SLACK_PATHS.install, handle },
        { method: 'GET', path: SLACK_PATHS.redirect, handle },
      );
  }

  return {
    mode,
    routes,
    deliverer: createSlackDeliverer({
      client: bolt.client,
      pacer: createChannelPacer({ log, waitFor: rateLimitedFor }),
      tokenFor,
      log,
      ...(deps.exportFile ? { exportFile: deps.exportFile } : {}),
    }),
    streamer: createSlackStreamer({ client: bolt.client, tokenFor, log }),
    async start() {
      if (receiver instanceof SocketModeReceiver) await receiver.start();
      else stopReplays ??= receipt.startReplays(bolt);
    },
    async stop() {
      stopReplays?.();
      if (receiver instanceof SocketModeReceiver) await receiver.stop();
    },
  };
}

/**
 * Single-workspace authorize: the configured bot token, with bot ids from one auth.test that is
 * cached once it succeeded (a failure is retried on the next event, never an unhandled rejection).
 */
function singleTokenAuthorize(botToken: string, client: () => BoltApp['client']): Authorize<boolean> {
  let ids: Promise<{ botId?: string; botUserId?: string; teamId?: string }> | undefined;
  return async () => {
    ids ??= client()
      .auth.test({ token: botToken })
      .then((r) => ({ botId: r.bot_id, botUserId: r.user_id, teamId: r.team_id }));
    try {
      const { botId, botUserId } = await ids;
      return { botToken, botId, botUserId };
    } catch (err) {
      ids = undefined;
      throw err;
    }
  };
}
