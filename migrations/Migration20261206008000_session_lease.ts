import { Migration } from '@mikro-orm/migrations';

/**
 * One owner per table (docs/style.md §17): a session's lease (docs/design.md §4) moves out of
 * `chat_session`, which core/history writes, into `session_lease`, which core/queue writes. A row
 * is a lease: `owner` drives the session until `expires_at`; no row (or an expired one) means
 * free. Leases held now are carried over, so running turns keep their sessions.
 */
export class Migration20261206008000_session_lease extends Migration {
  override name = 'Migration20261206008000_session_lease';

  override async up(): Promise<void> {
    this.addSql(`create table session_lease (
      session_id uuid primary key references chat_session(id) on delete cascade,
      owner text not null,
      expires_at timestamptz not null
    )`);
    this.addSql(`insert into session_lease (session_id, owner, expires_at)
      select id, lease_owner, lease_expires_at from chat_session
      where lease_owner is not null and lease_expires_at > now()`);
    this.addSql(`alter table chat_session drop column lease_owner, drop column lease_expires_at`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table chat_session add column lease_owner text, add column lease_expires_at timestamptz`);
    this.addSql(`update chat_session s set lease_owner = l.owner, lease_expires_at = l.expires_at
      from session_lease l where l.session_id = s.id`);
    this.addSql(`drop table session_lease`);
  }
}
