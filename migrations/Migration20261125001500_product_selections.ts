import { Migration } from '@mikro-orm/migrations';

/**
 * "All products of X" is a selection resolved when a confirmation is prepared and frozen with
 * it (core/pipeline/selections.ts): its product ids as one array row, written by one
 * INSERT … SELECT and attached to the pending action — never inside the plan that cards, audits
 * and the model read — and removed once the action is decided or expired.
 */
export class Migration20261125001500_product_selections extends Migration {
  override name = 'Migration20261125001500_product_selections';

  override async up(): Promise<void> {
    this.addSql(`create table product_selection (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      action_id uuid references pending_action(id) on delete cascade,
      tool_call_id text,
      ids uuid[] not null,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create index product_selection_action_idx on product_selection (action_id)`);
    this.addSql(`create index product_selection_loose_idx on product_selection (created_at) where action_id is null`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists product_selection`);
  }
}
