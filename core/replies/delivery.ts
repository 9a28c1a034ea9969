import { z } from 'zod';
import { platformSchema } from '../tenancy/roles.ts';
import type { Reply } from './reply.ts';
import type { TurnStep } from './steps.ts';

/** Where replies of a queued turn go: platform plus an adapter-defined target (channel, thread, conversation reference). */
export const deliverySchema = z.object({ platform: platformSchema, target: z.record(z.string(), z.unknown()) });
export type Delivery = z.infer<typeof deliverySchema>;

/** A message a deliverer posted, as the adapter identifies it for later edits (Slack `ts`, Teams activity id). */
export const sentMessageSchema = z.record(z.string(), z.unknown());
export type SentMessage = z.infer<typeof sentMessageSchema>;

type DeliveryInfo = {
  sessionId: string;
  /** The reply's position among the replies of one turn (0 = first); notices have none. */
  index?: number;
  /** Edit this earlier message in place instead of posting a new one (posted anew if it is gone). */
  replace?: SentMessage;
  /** This message was answered together with a later one: post nothing, only remove its "working on it" indicator. */
  merged?: boolean;
  /**
   * A message that must appear once (a completion notice): `key` names it, and a deliverer that
   * can tags the message with it. With `mayHaveSent` (an earlier attempt may have posted it and
   * died before recording so), it first looks for a message carrying `key` and returns that
   * instead of posting again.
   */
  once?: { key: string; mayHaveSent: boolean };
};

/**
 * Sends a reply to a platform target and returns what it posted, when the platform can edit it
 * later. Adapters register one per platform.
 */
export type Deliverer = (
  target: Delivery['target'],
  reply: Reply,
  info: DeliveryInfo,
) => Promise<SentMessage | undefined>;

/**
 * Shows a reply's text while the model writes it, and the turn's steps while its tools work
 * (docs/design.md §12): `step` is called with a step's newest state (running, then done or
 * failed) and never waits — the stream shows it when it can, coalescing updates of one step.
 * `end` waits for pending writes and returns the message showing the text or steps (the final
 * reply replaces it), or undefined if nothing was shown.
 */
export type TextStream = {
  push(delta: string): void;
  step(step: TurnStep): void;
  end(): Promise<SentMessage | undefined>;
};

/** What a streamer is told about the turn it streams. */
export type StreamInfo = {
  sessionId: string;
  /** The inbox items the streamed answer answers (a web request waits on one of them). */
  itemIds?: string[];
  /** Called once with the message the text goes into, as soon as it exists (so an interrupted turn's answer can replace it). */
  onMessage?: (message: SentMessage) => void;
};

/** Opens a text stream to a platform target; undefined where that target does not stream (e.g. Teams channels). */
export type Streamer = (target: Delivery['target'], info: StreamInfo) => TextStream | undefined;
