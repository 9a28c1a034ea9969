import { Migration } from '@mikro-orm/migrations';

/**
 * The initial RenderBot schema: tenancy, catalogue, orders and render jobs, chat history,
 * confirmations, audit, usage, inbound-event dedupe, and the tenant-filtered views that
 * query_database may read (docs/design.md §7).
 */
export class Migration20261125000000_initial extends Migration {
  override name = 'Migration20261125000000_initial';

  override async up(): Promise<void> {
    this.addSql(`create extension if not exists pg_trgm`);

    this.addSql(`create table tenant (
      id uuid primary key default gen_random_uuid(),
      slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
      name text not null,
      ai_provider text check (ai_provider in ('azure', 'openai')),
      ai_settings jsonb,
      ai_key_encrypted text,
      monthly_token_limit bigint check (monthly_token_limit >= 0),
      created_at timestamptz not null default now()
    )`);

    this.addSql(`create table platform_link (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      platform text not null check (platform in ('slack', 'teams')),
      external_id text not null,
      created_at timestamptz not null default now(),
      unique (platform, external_id)
    )`);
    this.addSql(`create index platform_link_tenant_idx on platform_link (tenant_id)`);

    this.addSql(`create table tenant_user (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      platform text not null check (platform in ('slack', 'teams', 'web', 'cli')),
      external_user_id text not null,
      display_name text,
      role text not null check (role in ('viewer', 'operator', 'admin')),
      created_at timestamptz not null default now(),
      unique (tenant_id, platform, external_user_id)
    )`);

    this.addSql(`create table link_code (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      code_hash text not null unique,
      expires_at timestamptz not null,
      used_at timestamptz,
      used_by text,
      created_at timestamptz not null default now()
    )`);

    this.addSql(`create table material (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      name text not null,
      description text,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create unique index material_tenant_name_uq on material (tenant_id, lower(name))`);

    this.addSql(`create table output_type (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      name text not null,
      format text not null check (format in ('webp', 'png', 'jpeg')),
      width int not null check (width between 16 and 16384),
      height int not null check (height between 16 and 16384),
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create unique index output_type_tenant_name_uq on output_type (tenant_id, lower(name))`);

    this.addSql(`create table product (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      pim_id text not null,
      name text not null,
      category text not null,
      material_name text,
      attributes jsonb not null default '{}'::jsonb,
      search_text text generated always as (lower(pim_id || ' ' || name || ' ' || category)) stored,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (tenant_id, pim_id)
    )`);
    this.addSql(`create index product_tenant_category_idx on product (tenant_id, lower(category), name)`);
    this.addSql(`create index product_tenant_name_idx on product (tenant_id, name)`);
    this.addSql(`create index product_search_trgm_idx on product using gin (search_text gin_trgm_ops)`);

    this.addSql(`create table order_counter (
      tenant_id uuid not null references tenant(id) on delete cascade,
      year int not null,
      last_value int not null,
      primary key (tenant_id, year)
    )`);

    this.addSql(`create table render_order (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      order_number text not null check (order_number ~ '^SA-[0-9]{4}-[0-9]{5}$'),
      status text not null check (status in ('draft', 'submitted', 'rendering', 'completed', 'failed', 'cancelled')),
      output_type_id uuid not null references output_type(id),
      material_override_id uuid references material(id),
      render_overrides jsonb not null default '{}'::jsonb,
      notes text,
      created_by text,
      origin jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      submitted_at timestamptz,
      completed_at timestamptz,
      unique (tenant_id, order_number)
    )`);
    this.addSql(`create index render_order_tenant_status_idx on render_order (tenant_id, status, created_at desc)`);
    this.addSql(`create index render_order_tenant_created_idx on render_order (tenant_id, created_at desc)`);

    this.addSql(`create table order_item (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      order_id uuid not null references render_order(id) on delete cascade,
      product_id uuid not null references product(id),
      unique (order_id, product_id)
    )`);
    this.addSql(`create index order_item_product_idx on order_item (product_id)`);

    this.addSql(`create table render_job (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      order_id uuid not null references render_order(id) on delete cascade,
      order_item_id uuid not null references order_item(id) on delete cascade,
      product_id uuid not null references product(id),
      status text not null check (status in ('queued', 'running', 'completed', 'failed')),
      attempts int not null default 0,
      error text,
      result_url text,
      queued_at timestamptz not null default now(),
      started_at timestamptz,
      finished_at timestamptz
    )`);
    this.addSql(`create index render_job_order_status_idx on render_job (order_id, status)`);
    this.addSql(`create index render_job_tenant_status_idx on render_job (tenant_id, status)`);
    this.addSql(
      `create index render_job_tenant_finished_idx on render_job (tenant_id, finished_at) where finished_at is not null`,
    );

    this.addSql(`create table chat_session (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      platform text not null check (platform in ('slack', 'teams', 'web', 'cli')),
      key text not null,
      title text,
      context jsonb not null default '{}'::jsonb,
      summary text,
      summary_upto bigint not null default 0,
      created_by text,
      created_at timestamptz not null default now(),
      last_active_at timestamptz not null default now(),
      archived_at timestamptz
    )`);
    this.addSql(
      `create unique index chat_session_active_key_uq on chat_session (tenant_id, platform, key) where archived_at is null`,
    );
    this.addSql(`create index chat_session_tenant_active_idx on chat_session (tenant_id, last_active_at desc)`);

    this.addSql(`create table chat_message (
      id uuid primary key default gen_random_uuid(),
      seq bigint generated always as identity,
      tenant_id uuid not null references tenant(id) on delete cascade,
      user_id text,
      session_id uuid not null references chat_session(id) on delete cascade,
      role text not null check (role in ('user', 'assistant', 'tool', 'system')),
      content text not null default '',
      context_type text,
      context_id text,
      token_count int not null default 0,
      prompt_tokens int not null default 0,
      completion_tokens int not null default 0,
      tool_calls jsonb,
      tool_call_id text,
      tool_name text,
      reply jsonb,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create index chat_message_session_seq_idx on chat_message (session_id, seq)`);
    this.addSql(`create index chat_message_tenant_created_idx on chat_message (tenant_id, created_at)`);

    this.addSql(`create table pending_action (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      session_id uuid not null references chat_session(id) on delete cascade,
      requested_by text not null,
      plan jsonb not null,
      preview jsonb not null,
      status text not null check (status in ('pending', 'executing', 'done', 'failed', 'cancelled', 'expired')),
      expires_at timestamptz not null,
      decided_by text,
      decided_at timestamptz,
      result jsonb,
      message_ref jsonb,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create index pending_action_session_idx on pending_action (tenant_id, session_id, created_at desc)`);

    this.addSql(`create table audit_log (
      id bigint generated always as identity primary key,
      tenant_id uuid not null references tenant(id) on delete cascade,
      actor text not null,
      action text not null,
      target text,
      outcome text not null,
      detail jsonb,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create index audit_log_tenant_created_idx on audit_log (tenant_id, created_at desc)`);

    this.addSql(`create table token_usage (
      tenant_id uuid not null references tenant(id) on delete cascade,
      month date not null,
      prompt_tokens bigint not null default 0,
      completion_tokens bigint not null default 0,
      requests int not null default 0,
      primary key (tenant_id, month)
    )`);

    this.addSql(`create table inbound_event (
      platform text not null,
      event_id text not null,
      tenant_id uuid references tenant(id) on delete cascade,
      received_at timestamptz not null default now(),
      primary key (platform, event_id)
    )`);
    this.addSql(`create index inbound_event_received_idx on inbound_event (received_at)`);

    this.addViews();
  }

  /**
   * Tenant-facing views for query_database. They filter by the transaction-local setting
   * renderbot.tenant_id, which the guarded runner sets and the guarded SQL cannot change.
   */
  private addViews(): void {
    const tenant = `nullif(current_setting('renderbot.tenant_id', true), '')::uuid`;
    const views: Record<string, string> = {
      v_products: `select p.id, p.pim_id, p.name, p.category, p.material_name, p.attributes, p.created_at, p.updated_at
        from product p where p.tenant_id = ${tenant}`,
      v_materials: `select m.id, m.name, m.description, m.created_at from material m where m.tenant_id = ${tenant}`,
      v_output_types: `select o.id, o.name, o.format, o.width, o.height, o.created_at from output_type o where o.tenant_id = ${tenant}`,
      v_orders: `select o.id, o.order_number, o.status, ot.name as output_type, m.name as material_override,
          o.render_overrides, o.notes, o.created_at, o.submitted_at, o.completed_at,
          (select count(*) from order_item i where i.order_id = o.id) as item_count
        from render_order o
        join output_type ot on ot.id = o.output_type_id
        left join material m on m.id = o.material_override_id
        where o.tenant_id = ${tenant}`,
      v_order_items: `select i.id, i.order_id, o.order_number, i.product_id, p.pim_id, p.name as product_name, p.category
        from order_item i join render_order o on o.id = i.order_id join product p on p.id = i.product_id
        where i.tenant_id = ${tenant}`,
      v_render_jobs: `select j.id, j.order_id, o.order_number, j.product_id, p.pim_id, j.status, j.attempts, j.error,
          j.queued_at, j.started_at, j.finished_at
        from render_job j join render_order o on o.id = j.order_id join product p on p.id = j.product_id
        where j.tenant_id = ${tenant}`,
    };
    for (const [name, body] of Object.entries(views)) {
      this.addSql(`create view ${name} with (security_barrier = true) as ${body}`);
    }
    // A role that can read exactly these views and nothing else; cluster-wide, so created idempotently.
    this.addSql(`do $$ begin
      create role renderbot_query nologin;
    exception when duplicate_object or unique_violation then null; end $$`);
    this.addSql(`do $$ begin
      execute format('grant renderbot_query to %I', current_user);
    exception when others then null; end $$`);
    this.addSql(`grant usage on schema public to renderbot_query`);
    this.addSql(`grant select on ${Object.keys(views).join(', ')} to renderbot_query`);
  }

  override async down(): Promise<void> {
    for (const view of ['v_render_jobs', 'v_order_items', 'v_orders', 'v_output_types', 'v_materials', 'v_products']) {
      this.addSql(`drop view if exists ${view}`);
    }
    for (const table of [
      'inbound_event',
      'token_usage',
      'audit_log',
      'pending_action',
      'chat_message',
      'chat_session',
      'render_job',
      'order_item',
      'render_order',
      'order_counter',
      'product',
      'output_type',
      'material',
      'link_code',
      'tenant_user',
      'platform_link',
      'tenant',
    ]) {
      this.addSql(`drop table if exists ${table} cascade`);
    }
  }
}
