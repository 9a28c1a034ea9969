import type { Intake } from '../../core/conversations/intake.ts';
import type { Conversations } from '../../core/conversations/service.ts';
import type { Files } from '../../core/files/service.ts';
import type { Logger } from '../../core/logger.ts';
import type { FileExporter } from '../../core/exports/files.ts';
import type { OutgoingMessage } from './activity.ts';
import type { ConversationRef } from './transport.ts';

/** The intake calls the Teams turn logic uses. */
export type TeamsIntake = Pick<
  Intake,
  'tenantOf' | 'identify' | 'redeemLink' | 'sessionFor' | 'actionCard' | 'postedAnswer'
>;

/** What the Teams turn logic needs from the core. */
export type TeamsHandlerDeps = {
  conversations: Pick<
    Conversations,
    'submit' | 'confirm' | 'cancel' | 'stop' | 'streamStopped' | 'starters' | 'feedback'
  >;
  intake: TeamsIntake;
  log: Logger;
  /** Emulator mode: activities without an AAD tenant are treated as tenant `emulator`. */
  emulator: boolean;
  /** Uploaded files (core/files): personal-chat files are downloaded and handed over; without, they are answered with the web panel. */
  files?: Pick<Files, 'upload'>;
  /** Makes the file a consent card offered, once accepted (adapters/teams/file-consent.ts). */
  exportFile?: FileExporter;
  /** Sends into a conversation outside any turn (after its invoke was answered), paced per conversation. */
  sendLater: (reference: ConversationRef, message: OutgoingMessage) => Promise<unknown>;
  /**
   * Runs work after the request that started it was answered; the channel waits for it when it
   * stops, for a while, then aborts `signal`.
   */
  afterAnswer: (work: (signal: AbortSignal) => Promise<void>) => void;
};
