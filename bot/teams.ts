import { createTeamsAdapter, TEAMS_MESSAGES_PATH } from '../adapters/teams/adapter.ts';
import type { App } from './app.ts';
import type { Channel } from './channels.ts';

/**
 * The Teams channel. Always enabled, like the Bot Framework samples: with MicrosoftAppId set every
 * request's token is validated; without it the bot runs in Bot Framework Emulator mode (no auth,
 * logged as a warning). Inconsistent Microsoft* settings fail startup with a ConfigError.
 */
export async function createTeamsChannel(app: App): Promise<Channel | undefined> {
  const adapter = createTeamsAdapter({ config: app.config, orm: app.db.orm, conversations: app.conversations, log: app.log });
  return {
    platform: 'teams',
    routes: [{ method: 'POST', path: TEAMS_MESSAGES_PATH, handle: (req, res) => adapter.handleHttp(req, res) }],
    deliverer: adapter.deliverer,
    streamer: adapter.streamer,
    async stop() {},
  };
}
