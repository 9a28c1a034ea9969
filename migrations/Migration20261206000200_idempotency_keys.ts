import { Migration } from '@mikro-orm/migrations';

/**
 * Idempotency keys of chat API requests (core/idempotency.ts): a key is one user's (tenant,
 * platform, user), remembers a fingerprint of the request it was first sent with, the turn it
 * started (`item_id`, `session_id`) and, once answered, the answer (`response`) — so a retry in
 * any process gets that answer instead of starting a second turn. Kept for a day.
 */
export class Migration20261206000200_idempotency_keys extends Migration {
  override name = 'Migration20261206000200_idempotency_keys';

  override async up(): Promise<void> {
    this.addSql(`create table idempotency_key (
      tenant_id uuid not null references tenant(id) on delete cascade,
      platform text not null,
      user_id text not null,
      key text not null,
      fingerprint text not null,
      item_id bigint,
      session_id uuid,
      response jsonb,
      created_at timestamptz not null default now(),
      primary key (tenant_id, platform, user_id, key)
    )`);
    this.addSql(`create index idempotency_key_created_idx on idempotency_key (created_at)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists idempotency_key`);
  }
}
