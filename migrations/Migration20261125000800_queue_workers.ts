import { Migration } from '@mikro-orm/migrations';

/**
 * Liveness of queue worker processes: each graphile-worker pool writes a heartbeat here, so the
 * jobs a dead process still holds locked can be released after minutes instead of after
 * graphile-worker's 4-hour lock timeout (core/queue/liveness.ts).
 */
export class Migration20261125000800_queue_workers extends Migration {
  override name = 'Migration20261125000800_queue_workers';

  override async up(): Promise<void> {
    this.addSql(`create table queue_worker (
      id text primary key,
      host text not null,
      pid int not null,
      started_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now()
    )`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists queue_worker`);
  }
}
