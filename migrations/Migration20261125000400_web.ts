import { Migration } from '@mikro-orm/migrations';

/**
 * The web channel: per-user API tokens bound to a tenant and role (only a SHA-256 hash is
 * stored), one-time login links that mint a token, and an index for listing a user's sessions.
 */
export class Migration20261125000400_web extends Migration {
  override name = 'Migration20261125000400_web';

  override async up(): Promise<void> {
    this.addSql(`create table api_token (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      user_id text not null,
      role text not null check (role in ('viewer', 'operator', 'admin')),
      label text,
      token_hash text not null unique,
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )`);
    this.addSql(`create index api_token_tenant_idx on api_token (tenant_id, created_at desc)`);
    this.addSql(`create table web_login_code (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      user_id text not null,
      role text not null check (role in ('viewer', 'operator', 'admin')),
      code_hash text not null unique,
      expires_at timestamptz not null,
      used_at timestamptz,
      created_at timestamptz not null default now()
    )`);
    this.addSql(
      `create index chat_session_web_user_idx on chat_session (tenant_id, created_by, last_active_at desc) where platform = 'web'`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists chat_session_web_user_idx`);
    this.addSql(`drop table web_login_code`);
    this.addSql(`drop table api_token`);
  }
}
