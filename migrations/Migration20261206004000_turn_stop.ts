import { Migration } from '@mikro-orm/migrations';

/**
 * A Stop that stops (docs/design.md §12): a stop request is stored on the session's unfinished
 * inbox items — when, and the name shown in "Stopped by <name>" — so the process that holds the
 * session's lease finds it whether or not its NOTIFY arrived (core/queue/turn-stops.ts).
 */
export class Migration20261206004000_turn_stop extends Migration {
  override name = 'Migration20261206004000_turn_stop';

  override async up(): Promise<void> {
    this.addSql(`alter table turn_inbox add column stop_requested_at timestamptz, add column stopped_by text`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table turn_inbox drop column stop_requested_at, drop column stopped_by`);
  }
}
