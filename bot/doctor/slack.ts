import { SLACK_PATHS, slackMode } from '../../adapters/slack/app.ts';
import { slackAuthTest, type SlackAuthTest } from '../../adapters/slack/auth-test.ts';
import type { Config } from '../../core/config.ts';
import { slackSettings } from '../slack.ts';
import { fail, ok, reasonOf, skip, type CheckLine } from './report.ts';
import type { OpenInstallation } from './secrets.ts';

/** Installations to check, or why they cannot be read. */
export type InstallationsSource = () => Promise<OpenInstallation[] | { unavailable: string }>;

/**
 * Checks Slack's tokens with `auth.test` (at SLACK_API_URL when set), concurrently: the bot token
 * of a single workspace (SLACK_BOT_TOKEN, also under Socket Mode), or in OAuth mode every stored
 * installation's bot token. Slack not configured is one skip line.
 */
export async function checkSlack(
  config: Config,
  installations: InstallationsSource,
  timeoutMs: number,
): Promise<CheckLine[]> {
  const settings = slackSettings(config);
  if (!settings) return [skip('Slack', 'not configured (SLACK_SIGNING_SECRET or SLACK_APP_TOKEN unset)')];
  let mode: ReturnType<typeof slackMode>;
  try {
    mode = slackMode(settings);
  } catch (err) {
    return [fail('Slack configuration', reasonOf(err), 'set the variables it names')];
  }
  const opts = { ...(config.SLACK_API_URL ? { apiUrl: config.SLACK_API_URL } : {}), timeoutMs };
  const installUrl = `${config.PUBLIC_URL ? config.PUBLIC_URL.replace(/\/+$/, '') : '<PUBLIC_URL>'}${SLACK_PATHS.install}`;
  if (mode !== 'oauth') {
    const what = 'Slack bot token (SLACK_BOT_TOKEN)';
    return [
      verdict(
        what,
        await slackAuthTest(settings.botToken!, opts),
        "set SLACK_BOT_TOKEN to the app's current Bot User OAuth Token (xoxb-…, under OAuth & Permissions); reinstall the app if it was revoked",
      ),
    ];
  }
  const found = await installations();
  if ('unavailable' in found) return [skip('Slack installations', found.unavailable)];
  if (found.length === 0) return [skip('Slack installations', `none yet: install the app via ${installUrl}`)];
  return Promise.all(
    found.map(async (i): Promise<CheckLine> => {
      const reinstall = `reinstall the app in that workspace via ${installUrl}`;
      if (i.botToken === undefined) return fail(i.label, 'its installation has no bot token', reinstall);
      if (typeof i.botToken !== 'string') {
        return i.botToken.unusable === 'undecryptable'
          ? skip(i.label, 'its installation cannot be decrypted (see SECRETS_KEY)')
          : fail(i.label, 'its stored installation is unreadable', reinstall);
      }
      return verdict(i.label, await slackAuthTest(i.botToken, opts), reinstall, true);
    }),
  );
}

/** Slack's errors that mean the token itself is bad (the fix is a new token). */
const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'team_disabled',
  'no_permission',
]);

/** The line for one token; `named`: `what` already names the workspace. */
function verdict(what: string, result: SlackAuthTest, tokenFix: string, named = false): CheckLine {
  if (result.ok)
    return named
      ? ok(`${what} works`)
      : ok(
          `${what} works`,
          `workspace ${[result.team, result.teamId && `(${result.teamId})`].filter(Boolean).join(' ') || 'unknown'}`,
        );
  if (TOKEN_ERRORS.has(result.error)) return fail(what, `Slack answers ${result.error}`, tokenFix);
  return fail(
    what,
    `Slack's API did not answer: ${result.error}`,
    'check outbound HTTPS to Slack (or SLACK_API_URL) from here',
  );
}
