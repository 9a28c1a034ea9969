import { createTeamsAdapter } from '../adapters/teams/adapter.ts';
import { describeTeamsSettings, teamsSettings } from '../adapters/teams/config.ts';
import type { App } from './app.ts';
import type { Channel } from './channel.ts';

/**
 * The Teams channel, closed by default: with MicrosoftAppId set every request's token is
 * validated; with TEAMS_EMULATOR=1 (and no app id) the Bot Framework Emulator on this machine may
 * talk to it; with neither there is no channel (no /api/messages, no outbound calls).
 * Inconsistent Microsoft* settings fail startup with a ConfigError.
 */
export async function createTeamsChannel(app: App): Promise<Channel | undefined> {
  const settings = teamsSettings(app.config);
  if (settings.mode === 'off') {
    app.log.info(describeTeamsSettings(settings));
    return undefined;
  }
  const adapter = createTeamsAdapter({
    config: app.config,
    intake: app.intake,
    conversations: app.conversations,
    log: app.log,
    files: app.files,
    exportFile: app.exportFile,
  });
  return {
    platform: 'teams',
    routes: [adapter.route],
    deliverer: adapter.deliverer,
    streamer: adapter.streamer,
    stop: () => adapter.stop(),
  };
}
