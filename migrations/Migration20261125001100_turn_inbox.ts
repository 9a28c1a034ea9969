import { Migration } from '@mikro-orm/migrations';

/**
 * Queued turns wait per session in `turn_inbox` (core/queue/session-inbox.ts) instead of one
 * graphile-worker named queue per session: every job fetch locks all named-queue rows, and those
 * rows are never removed, so fetching slowed with every session ever started.
 */
export class Migration20261125001100_turn_inbox extends Migration {
  override name = 'Migration20261125001100_turn_inbox';

  override async up(): Promise<void> {
    this.addSql(`create table turn_inbox (
      id bigserial primary key,
      tenant_id uuid not null references tenant(id) on delete cascade,
      session_id uuid not null references chat_session(id) on delete cascade,
      task text not null,
      payload jsonb not null,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create index turn_inbox_session_idx on turn_inbox (session_id, id)`);
    this.addSql(`create index turn_inbox_created_idx on turn_inbox (created_at)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists turn_inbox`);
  }
}
