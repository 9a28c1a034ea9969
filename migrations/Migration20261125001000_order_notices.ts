import { Migration } from '@mikro-orm/migrations';

/**
 * Completion notices: where to report an order's progress and outcome (the conversation that
 * confirmed it), the one progress message kept up to date there, and when the notice was sent
 * (so it is sent once). Not part of the query_database views: delivery targets are internal.
 */
export class Migration20261125001000_order_notices extends Migration {
  override name = 'Migration20261125001000_order_notices';

  override async up(): Promise<void> {
    this.addSql(`alter table render_order
      add column notify jsonb,
      add column progress_message jsonb,
      add column notice_sent_at timestamptz`);
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table render_order drop column notify, drop column progress_message, drop column notice_sent_at`,
    );
  }
}
