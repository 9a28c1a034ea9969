import { Migration } from '@mikro-orm/migrations';

/**
 * Completion notices are sent with no transaction open (core/notices/tasks.ts): `notice_claim`
 * names the queue job sending an order's notice (claimed and released by compare-and-set, so a
 * notice is sent once), and `progress_seq` counts the writers of the progress message, so one
 * whose edit may have landed after a newer one's notices it and shows the current state again.
 */
export class Migration20261125001800_notice_claims extends Migration {
  override name = 'Migration20261125001800_notice_claims';

  override async up(): Promise<void> {
    this.addSql(`alter table render_order
      add column notice_claim text,
      add column progress_seq integer not null default 0`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table render_order drop column notice_claim, drop column progress_seq`);
  }
}
