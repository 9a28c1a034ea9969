import { Migration } from '@mikro-orm/migrations';

/**
 * When a render farm last accepted or acknowledged (a `running` callback) a job's current
 * attempt: the farm's time to report back counts from here (RENDER_FARM_TIMEOUT_MINUTES). Null
 * while no farm holds the attempt. The partial index keeps the timeout sweep off finished jobs.
 */
export class Migration20261125000900_farm_contact extends Migration {
  override name = 'Migration20261125000900_farm_contact';

  override async up(): Promise<void> {
    this.addSql(`alter table render_job add column farm_contact_at timestamptz`);
    this.addSql(
      `create index render_job_farm_contact_idx on render_job (farm_contact_at) where status = 'running' and farm_contact_at is not null`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists render_job_farm_contact_idx`);
    this.addSql(`alter table render_job drop column if exists farm_contact_at`);
  }
}
