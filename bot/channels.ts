import type { Deliverer, Streamer } from '../core/replies/delivery.ts';
import type { Platform } from '../core/tenancy/roles.ts';
import type { App } from './app.ts';
import type { Route } from './server.ts';
import { createSlackChannel } from './slack.ts';
import { createTeamsChannel } from './teams.ts';
import { createWebChannel } from './web.ts';

/** A chat platform wired into the bot: its HTTP routes, its reply sender, its lifecycle. */
export type Channel = {
  platform: Platform;
  routes: Route[];
  deliverer: Deliverer;
  /** Shows agent text while it is written, where the platform can. */
  streamer?: Streamer;
  /** Extra startup (e.g. Slack Socket Mode); called after routes are mounted. */
  start?(): Promise<void>;
  stop(): Promise<void>;
};

/** Creates every channel whose configuration is present and registers its deliverer. */
export async function createChannels(app: App): Promise<Channel[]> {
  const channels = (await Promise.all([createSlackChannel(app), createTeamsChannel(app), createWebChannel(app)])).filter((c): c is Channel => c !== undefined);
  for (const c of channels) {
    app.deliverers.set(c.platform, c.deliverer);
    if (c.streamer) app.streamers.set(c.platform, c.streamer);
  }
  return channels;
}
