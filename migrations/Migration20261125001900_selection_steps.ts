import { Migration } from '@mikro-orm/migrations';

/**
 * A frozen selection belongs to one step of its action: (action_id, step), unique, instead of the
 * tool-call id the model chose — two calls sharing an id can no longer swap their selections.
 * Attached selections whose id names exactly one step of their plan keep that step; any other
 * attached selection is dropped, so its step fails with "no frozen selection" and runs nothing.
 */
export class Migration20261125001900_selection_steps extends Migration {
  override name = 'Migration20261125001900_selection_steps';

  override async up(): Promise<void> {
    this.addSql(`alter table product_selection add column step integer`);
    this.addSql(`update product_selection s set step = e.ord - 1
      from pending_action a, jsonb_array_elements(a.plan) with ordinality e(call, ord)
      where a.id = s.action_id and e.call->>'toolCallId' = s.tool_call_id
        and (select count(*) from jsonb_array_elements(a.plan) c where c->>'toolCallId' = s.tool_call_id) = 1`);
    this.addSql(`delete from product_selection where action_id is not null and step is null`);
    this.addSql(`alter table product_selection drop column tool_call_id`);
    this.addSql(`drop index product_selection_action_idx`);
    this.addSql(`alter table product_selection
      add constraint product_selection_action_step_key unique (action_id, step),
      add constraint product_selection_step_check check ((action_id is null) = (step is null))`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table product_selection add column tool_call_id text`);
    this.addSql(
      `update product_selection s set tool_call_id = a.plan->s.step->>'toolCallId' from pending_action a where a.id = s.action_id`,
    );
    this.addSql(
      `alter table product_selection drop constraint product_selection_step_check, drop constraint product_selection_action_step_key, drop column step`,
    );
    this.addSql(`create index product_selection_action_idx on product_selection (action_id)`);
  }
}
