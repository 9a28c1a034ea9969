import { Migration } from '@mikro-orm/migrations';

/**
 * `pending_action.message_ref` (where a confirm card was posted) was written for every posted
 * card and never read: a card is updated in place from the click that carries its own message
 * (Slack's `response_url`/`container`, Teams' invoke reply), so the column goes.
 */
export class Migration20261206007000_drop_message_ref extends Migration {
  override name = 'Migration20261206007000_drop_message_ref';

  override async up(): Promise<void> {
    this.addSql(`alter table pending_action drop column message_ref`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table pending_action add column message_ref jsonb`);
  }
}
