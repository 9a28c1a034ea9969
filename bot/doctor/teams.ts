import { teamsSettings, type TeamsSettings } from '../../adapters/teams/config.ts';
import { fetchBotToken } from '../../adapters/teams/transport.ts';
import type { Config } from '../../core/config.ts';
import { fail, ok, reasonOf, skip, withTimeout, type CheckLine } from './report.ts';

/**
 * Checks that the Teams app id and secret get a Bot Framework token from the configured login
 * endpoint (only with MicrosoftAppId set); one line.
 */
export async function checkTeams(config: Config, timeoutMs: number): Promise<CheckLine> {
  let settings: TeamsSettings;
  try {
    settings = teamsSettings(config);
  } catch (err) {
    return fail('Teams configuration', reasonOf(err), 'set the variables it names');
  }
  if (settings.mode === 'off') return skip('Teams', 'not configured (MicrosoftAppId unset)');
  if (settings.mode === 'emulator')
    return skip('Teams', 'Bot Framework Emulator mode (TEAMS_EMULATOR=1) has no credentials to check');
  const what = `Teams app ${settings.appId}`;
  try {
    await withTimeout(fetchBotToken(settings), timeoutMs);
    return ok(`${what} gets a Bot Framework token`, settings.appType);
  } catch (err) {
    return fail(
      what,
      `no Bot Framework token: ${reasonOf(err)}`,
      settings.appType === 'UserAssignedMSI'
        ? 'check that the managed identity is assigned to this host and MicrosoftAppId is its client id'
        : 'check MicrosoftAppPassword (a current client secret of the app registration), MicrosoftAppType, MicrosoftAppTenantId and, for another cloud, ToChannelFromBotLoginUrl',
    );
  }
}
