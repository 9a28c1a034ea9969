import { Migration } from '@mikro-orm/migrations';

/**
 * Orders of 50,000 items: the current job of an item whose renders failed is found through its
 * item (core/pipeline/current-jobs.ts), and deleting an order's items no longer scans render_job
 * once per item.
 */
export class Migration20261125001600_big_order_indexes extends Migration {
  override name = 'Migration20261125001600_big_order_indexes';

  override async up(): Promise<void> {
    this.addSql(`create index if not exists render_job_order_item_idx on render_job (order_item_id)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists render_job_order_item_idx`);
  }
}
