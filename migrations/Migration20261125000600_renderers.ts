import { Migration } from '@mikro-orm/migrations';

/**
 * Render backends per tenant: 'local' (the built-in preview renderer, default) or 'http' (a
 * render farm at renderer_url, requests and callbacks signed with the encrypted secret), and
 * the record of farm callbacks that makes them idempotent by job and status.
 */
export class Migration20261125000600_renderers extends Migration {
  override name = 'Migration20261125000600_renderers';

  override async up(): Promise<void> {
    this.addSql(`alter table tenant
      add column renderer_backend text not null default 'local' check (renderer_backend in ('local', 'http')),
      add column renderer_url text,
      add column renderer_secret_encrypted text,
      add constraint tenant_renderer_http_check check (renderer_backend <> 'http' or (renderer_url is not null and renderer_secret_encrypted is not null))`);
    this.addSql(`create table render_callback (
      job_id uuid not null references render_job(id) on delete cascade,
      status text not null check (status in ('running', 'completed', 'failed')),
      received_at timestamptz not null default now(),
      primary key (job_id, status)
    )`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists render_callback`);
    this.addSql(`alter table tenant drop constraint if exists tenant_renderer_http_check,
      drop column if exists renderer_backend, drop column if exists renderer_url, drop column if exists renderer_secret_encrypted`);
  }
}
