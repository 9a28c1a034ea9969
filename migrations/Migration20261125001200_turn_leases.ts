import { Migration } from '@mikro-orm/migrations';

/**
 * Turns at the speed of the model (docs/design.md §4): a session is driven by whoever holds its lease —
 * a row (owner, expiry) renewed while its turns run — instead of an advisory lock held on a
 * connection. Inbox items are no longer removed before they run: they are started (attempts),
 * record how far the turn got (progress: where its messages begin, what was delivered), and are
 * marked done with their replies (for callers waiting on them), so a turn cut off by a crash is
 * resumed by the next lease holder. A tenant's concurrent model calls are capped
 * (`ai_max_concurrency`); a 429 from its provider lowers the cap for a while (`ai_throttle_*`).
 */
export class Migration20261125001200_turn_leases extends Migration {
  override name = 'Migration20261125001200_turn_leases';

  override async up(): Promise<void> {
    this.addSql(`alter table chat_session add column lease_owner text, add column lease_expires_at timestamptz`);
    this.addSql(`alter table turn_inbox
      add column attempts int not null default 0,
      add column started_at timestamptz,
      add column progress jsonb not null default '{}'::jsonb,
      add column done_at timestamptz,
      add column result jsonb`);
    this.addSql(`drop index if exists turn_inbox_session_idx`);
    this.addSql(`drop index if exists turn_inbox_created_idx`);
    this.addSql(`create index turn_inbox_pending_idx on turn_inbox (session_id, id) where done_at is null`);
    this.addSql(`create index turn_inbox_done_idx on turn_inbox (done_at) where done_at is not null`);
    this.addSql(`alter table tenant
      add column ai_max_concurrency int not null default 256 check (ai_max_concurrency between 1 and 100000),
      add column ai_throttle_cap int,
      add column ai_throttled_until timestamptz`);
    // Where the plan was asked: a confirmed plan's follow-up (and its orders' notices) go there (docs/design.md §6).
    this.addSql(`alter table pending_action add column origin jsonb`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table pending_action drop column origin`);
    this.addSql(
      `alter table tenant drop column ai_max_concurrency, drop column ai_throttle_cap, drop column ai_throttled_until`,
    );
    this.addSql(`drop index if exists turn_inbox_pending_idx`);
    this.addSql(`drop index if exists turn_inbox_done_idx`);
    this.addSql(`delete from turn_inbox where done_at is not null`);
    this.addSql(
      `alter table turn_inbox drop column attempts, drop column started_at, drop column progress, drop column done_at, drop column result`,
    );
    this.addSql(`create index turn_inbox_session_idx on turn_inbox (session_id, id)`);
    this.addSql(`create index turn_inbox_created_idx on turn_inbox (created_at)`);
    this.addSql(`alter table chat_session drop column lease_owner, drop column lease_expires_at`);
  }
}
