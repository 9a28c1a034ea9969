import { z } from 'zod';
import type { Config } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';

/**
 * How the bot authenticates to and from the Bot Framework (docs/design.md §9): `off` (no MicrosoftAppId,
 * no TEAMS_EMULATOR — /api/messages does not exist), `emulator` (explicit, loopback only) or
 * `botframework` (every request's token validated).
 */
export type TeamsSettings =
  | { mode: 'off' }
  | { mode: 'emulator' }
  | {
      mode: 'botframework';
      appId: string;
      appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
      appPassword?: string;
      tenantId?: string;
      cloud?: CloudEndpoints;
    };

/** Settings of a Teams channel that is on. */
export type ActiveTeamsSettings = Exclude<TeamsSettings, { mode: 'off' }>;

/** botbuilder's settings for the Bot Framework endpoints of another cloud; all of them or none. */
const cloudEndpointKeys = [
  'ChannelService',
  'ToChannelFromBotLoginUrl',
  'ToChannelFromBotOAuthScope',
  'ToBotFromChannelTokenIssuer',
  'ToBotFromChannelOpenIdMetadataUrl',
  'ToBotFromEmulatorOpenIdMetadataUrl',
  'OAuthUrl',
] as const;
type CloudEndpoints = Partial<Record<(typeof cloudEndpointKeys)[number], string>>;
export type TeamsConfig = Pick<
  Config,
  | 'MicrosoftAppId'
  | 'MicrosoftAppPassword'
  | 'MicrosoftAppType'
  | 'MicrosoftAppTenantId'
  | (typeof cloudEndpointKeys)[number]
> &
  Partial<Pick<Config, 'TEAMS_EMULATOR'>>;

const guid = z.uuid();

/**
 * Validates the Microsoft* variables. Closed by default: no MicrosoftAppId means Teams is off,
 * unless TEAMS_EMULATOR=1 asks for Bot Framework Emulator mode (no auth, loopback only). Throws a
 * ConfigError naming the variable for combinations the Bot Framework would reject at the first request.
 */
export function teamsSettings(config: TeamsConfig): TeamsSettings {
  const { MicrosoftAppId: appId, MicrosoftAppPassword: appPassword, MicrosoftAppTenantId: tenantId } = config;
  if (!appId) {
    if (appPassword)
      throw new ConfigError(
        'teams_config',
        "MicrosoftAppPassword is set but MicrosoftAppId is not. Set MicrosoftAppId to the bot's Azure app (client) id, or unset both.",
      );
    return { mode: config.TEAMS_EMULATOR ? 'emulator' : 'off' };
  }
  if (config.TEAMS_EMULATOR)
    throw new ConfigError(
      'teams_config',
      'TEAMS_EMULATOR=1 turns off authentication and cannot be combined with MicrosoftAppId: unset one of them.',
    );
  if (!guid.safeParse(appId).success)
    throw new ConfigError(
      'teams_config',
      "MicrosoftAppId must be the GUID of the bot's Azure app registration (Azure Bot → Configuration → Microsoft App ID).",
    );
  const appType = config.MicrosoftAppType ?? 'MultiTenant';
  if (tenantId && !guid.safeParse(tenantId).success)
    throw new ConfigError('teams_config', 'MicrosoftAppTenantId must be a GUID (the Microsoft Entra directory id).');
  if (appType === 'SingleTenant' || appType === 'UserAssignedMSI') {
    if (!tenantId)
      throw new ConfigError(
        'teams_config',
        `MicrosoftAppType=${appType} needs MicrosoftAppTenantId (the Entra directory id the app belongs to).`,
      );
  }
  const cloud = cloudEndpoints(config);
  if (appType === 'UserAssignedMSI') {
    if (appPassword)
      throw new ConfigError(
        'teams_config',
        'MicrosoftAppType=UserAssignedMSI uses the managed identity, not a password: unset MicrosoftAppPassword.',
      );
    return { mode: 'botframework', appId, appType, tenantId, ...(cloud ? { cloud } : {}) };
  }
  if (!appPassword)
    throw new ConfigError(
      'teams_config',
      `MicrosoftAppType=${appType} needs MicrosoftAppPassword (a client secret of the bot's app registration).`,
    );
  return {
    mode: 'botframework',
    appId,
    appType,
    appPassword,
    ...(tenantId ? { tenantId } : {}),
    ...(cloud ? { cloud } : {}),
  };
}

/**
 * The endpoints of another Bot Framework cloud. botbuilder switches to them as soon as one is
 * set, so the token ones come as a set: a login URL without the token issuer and OpenID
 * metadata (or the other way round) would accept or send tokens of the wrong cloud.
 */
function cloudEndpoints(config: TeamsConfig): CloudEndpoints | undefined {
  const set = Object.fromEntries(
    cloudEndpointKeys.filter((k) => config[k]).map((k) => [k, config[k]!]),
  ) as CloudEndpoints;
  if (Object.keys(set).length === 0) return undefined;
  const needed = [
    'ToChannelFromBotLoginUrl',
    'ToChannelFromBotOAuthScope',
    'ToBotFromChannelTokenIssuer',
    'ToBotFromChannelOpenIdMetadataUrl',
  ] as const;
  const missing = needed.filter((k) => !set[k]);
  if (missing.length && !set.ChannelService)
    throw new ConfigError(
      'teams_config',
      `Bot Framework endpoints of another cloud need all of ${needed.join(', ')}; missing: ${missing.join(', ')}.`,
    );
  return set;
}

/** One line for the startup log. */
export function describeTeamsSettings(s: TeamsSettings): string {
  if (s.mode === 'off')
    return 'Teams: off (set MicrosoftAppId, or TEAMS_EMULATOR=1 for the Bot Framework Emulator on this machine).';
  return s.mode === 'emulator'
    ? 'Teams: Bot Framework Emulator mode (TEAMS_EMULATOR=1) — requests to /api/messages are NOT authenticated; only loopback callers and loopback serviceUrls are accepted.'
    : `Teams: ${s.appType} bot ${s.appId}; every request's Bot Framework token is validated.`;
}
