import type { App } from './app.ts';
import type { Channel } from './channel.ts';
import { createSlackChannel } from './slack.ts';
import { createTeamsChannel } from './teams.ts';
import { createWebChannel } from './web.ts';

export type { Channel };

/** Creates every channel whose configuration is present and registers its deliverer. */
export async function createChannels(app: App): Promise<Channel[]> {
  const channels = (
    await Promise.all([createSlackChannel(app), createTeamsChannel(app), createWebChannel(app)])
  ).filter((c): c is Channel => c !== undefined);
  for (const c of channels) {
    app.deliverers.set(c.platform, c.deliverer);
    if (c.streamer) app.streamers.set(c.platform, c.streamer);
  }
  return channels;
}
