import { Migration } from '@mikro-orm/migrations';

/** Confirm cards show who decided by name; `decided_by` keeps the platform user id for audit. */
export class Migration20261125000300_decider_name extends Migration {
  override name = 'Migration20261125000300_decider_name';

  override async up(): Promise<void> {
    this.addSql(`alter table pending_action add column decided_by_name text`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table pending_action drop column decided_by_name`);
  }
}
