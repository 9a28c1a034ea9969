import type { AgentDeps } from '../agent/turn.ts';
import type { Deliverer, Streamer } from '../replies/delivery.ts';
import type { Platform } from '../tenancy/roles.ts';
import type { FinishedItems } from './finished.ts';

/** What the conversations and the drain share, passed in by bot/app.ts. */
export type ConversationDeps = AgentDeps & {
  deliverers: ReadonlyMap<Platform, Deliverer>;
  /** Platforms that show the model's text while it is written (queued agent turns only). */
  streamers?: ReadonlyMap<Platform, Streamer>;
  /** Items done in this process or others, for callers waiting on a result. */
  finished: FinishedItems;
};
