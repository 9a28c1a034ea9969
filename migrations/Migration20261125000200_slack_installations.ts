import { Migration } from '@mikro-orm/migrations';

/**
 * Slack OAuth installations (multi-workspace mode, docs/design.md §9): one row per workspace or
 * enterprise-wide install. Tokens never sit in plaintext: `installation_encrypted` holds the
 * whole Bolt installation (bot and user tokens) as AES-256-GCM ciphertext under SECRETS_KEY.
 * The plain columns are only what lookups and operators need. The query_database role gets no
 * grant on this table.
 */
export class Migration20261125000200_slack_installations extends Migration {
  override name = 'Migration20261125000200_slack_installations';

  override async up(): Promise<void> {
    this.addSql(`create table slack_installation (
      id uuid primary key default gen_random_uuid(),
      install_key text not null unique,
      team_id text,
      team_name text,
      enterprise_id text,
      is_enterprise_install boolean not null default false,
      app_id text,
      bot_user_id text,
      bot_id text,
      installed_by text,
      installation_encrypted text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
    this.addSql(`create index slack_installation_team_idx on slack_installation (team_id)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists slack_installation`);
  }
}
