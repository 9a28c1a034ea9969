import { Migration } from '@mikro-orm/migrations';

/**
 * Files people upload in chat (core/files/, docs/design.md §12): tenant data with one owner
 * module. The bytes live in the row (at most 20 MB), beside what parsing found — the summary the
 * model sees and the file's distinct product ids in file order (`pim_ids`), so an order is frozen
 * from it by one INSERT … SELECT. Deleted after `expires_at` (FILE_RETENTION_DAYS).
 */
export class Migration20261206001000_uploaded_files extends Migration {
  override name = 'Migration20261206001000_uploaded_files';

  override async up(): Promise<void> {
    this.addSql(`create table uploaded_file (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      platform text not null,
      uploaded_by text not null,
      name text not null,
      kind text not null check (kind in ('csv', 'xlsx')),
      size_bytes integer not null check (size_bytes >= 0 and size_bytes <= 20971520),
      content bytea not null,
      summary jsonb not null,
      pim_ids text[] not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null
    )`);
    this.addSql(`create index uploaded_file_tenant_created_idx on uploaded_file (tenant_id, created_at desc)`);
    this.addSql(`create index uploaded_file_expires_idx on uploaded_file (expires_at)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists uploaded_file`);
  }
}
