import { createSlackAdapter, type SlackSettings } from '../adapters/slack/app.ts';
import type { Config } from '../core/config.ts';
import type { App } from './app.ts';
import type { Channel } from './channel.ts';

/** The SLACK_* part of the configuration, or undefined when Slack is not configured at all. */
export function slackSettings(config: Config): SlackSettings | undefined {
  const s: SlackSettings = {
    signingSecret: config.SLACK_SIGNING_SECRET,
    botToken: config.SLACK_BOT_TOKEN,
    clientId: config.SLACK_CLIENT_ID,
    clientSecret: config.SLACK_CLIENT_SECRET,
    stateSecret: config.SLACK_STATE_SECRET,
    appToken: config.SLACK_APP_TOKEN,
    apiUrl: config.SLACK_API_URL,
    publicUrl: config.PUBLIC_URL,
  };
  return s.signingSecret || s.appToken ? s : undefined;
}

/**
 * The Slack channel (routes /slack/events, and /slack/install + /slack/oauth_redirect in OAuth
 * mode), or undefined when neither SLACK_SIGNING_SECRET nor SLACK_APP_TOKEN is set. A partial
 * configuration fails with a ConfigError naming the missing variable.
 */
export async function createSlackChannel(app: App): Promise<Channel | undefined> {
  const settings = slackSettings(app.config);
  if (!settings) return undefined;
  const adapter = createSlackAdapter({
    settings,
    conversations: app.conversations,
    intake: app.intake,
    availability: app.db.availability,
    log: app.log,
    files: app.files,
    exportFile: app.exportFile,
  });
  app.log.info({ component: 'slack', mode: adapter.mode }, 'Slack channel enabled');
  return {
    platform: 'slack',
    routes: adapter.routes,
    deliverer: adapter.deliverer,
    streamer: adapter.streamer,
    start: adapter.start,
    stop: adapter.stop,
  };
}
