import type { Deliverer, Streamer } from '../core/replies/delivery.ts';
import type { Platform } from '../core/tenancy/roles.ts';
import type { Route } from './server.ts';

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
