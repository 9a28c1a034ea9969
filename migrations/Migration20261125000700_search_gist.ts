import { Migration } from '@mikro-orm/migrations';

/**
 * Product text search uses a trigram GiST index instead of GIN: GIN answers only with a bitmap
 * of every candidate (74k rows for a broad word at 200k products), while a plain GiST index
 * scan stops after the first matches the search needs (it counts at most 1,001).
 */
export class Migration20261125000700_search_gist extends Migration {
  override name = 'Migration20261125000700_search_gist';

  override async up(): Promise<void> {
    this.addSql(`create index product_search_trgm_gist on product using gist (search_text gist_trgm_ops)`);
    this.addSql(`drop index if exists product_search_trgm_idx`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index product_search_trgm_idx on product using gin (search_text gin_trgm_ops)`);
    this.addSql(`drop index if exists product_search_trgm_gist`);
  }
}
