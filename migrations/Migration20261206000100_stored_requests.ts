import { Migration } from '@mikro-orm/migrations';

/**
 * Platform requests are stored before they are acknowledged: `inbound_event` keeps the request
 * (`request`, without Slack's verification token) until it is handled (`handled_at`), and a
 * request whose handling did not finish — the database went away mid-way, the process died —
 * is replayed from it (`replay_at`, `replays`). Rows from before were all handled.
 */
export class Migration20261206000100_stored_requests extends Migration {
  override name = 'Migration20261206000100_stored_requests';

  override async up(): Promise<void> {
    this.addSql(`alter table inbound_event
      add column request jsonb,
      add column handled_at timestamptz,
      add column replay_at timestamptz,
      add column replays integer not null default 0`);
    this.addSql(`update inbound_event set handled_at = received_at`);
    this.addSql(
      `create index inbound_event_unhandled_idx on inbound_event (platform, replay_at) where handled_at is null`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index inbound_event_unhandled_idx`);
    this.addSql(
      `alter table inbound_event drop column request, drop column handled_at, drop column replay_at, drop column replays`,
    );
  }
}
