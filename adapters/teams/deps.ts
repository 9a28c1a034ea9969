import type { Intake } from '../../core/conversations/intake.ts';
import type { Conversations } from '../../core/conversations/service.ts';
import type { Logger } from '../../core/logger.ts';
import type { FileExporter } from '../../core/exports/files.ts';

/** The intake calls the Teams turn logic uses. */
export type TeamsIntake = Pick<Intake, 'tenantOf' | 'identify' | 'redeemLink' | 'sessionFor' | 'actionCard'>;

/** What the Teams turn logic needs from the core. */
export type TeamsHandlerDeps = {
  conversations: Pick<Conversations, 'submit' | 'confirm' | 'cancel'>;
  intake: TeamsIntake;
  log: Logger;
  /** Emulator mode: activities without an AAD tenant are treated as tenant `emulator`. */
  emulator: boolean;
  /** Makes the file a consent card offered, once accepted (adapters/teams/files.ts). */
  exportFile?: FileExporter;
};
