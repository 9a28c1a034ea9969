import { Migration } from '@mikro-orm/migrations';

/**
 * Which lease holder started an inbox item: a process that hands its sessions back at shutdown
 * uncounts only the attempts it started itself, never those of a process that crashed before.
 */
export class Migration20261125001700_turn_started_by extends Migration {
  override name = 'Migration20261125001700_turn_started_by';

  override async up(): Promise<void> {
    this.addSql(`alter table turn_inbox add column started_by text`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table turn_inbox drop column started_by`);
  }
}
