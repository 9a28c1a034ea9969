import { Migration } from '@mikro-orm/migrations';

/**
 * Per-product materials from an uploaded file's material column (docs/design.md §12): the file
 * keeps each distinct id's material name (`uploaded_file.materials`, aligned with `pim_ids`, ''
 * for none), a selection frozen from it the material ids (`product_selection.material_ids`,
 * aligned with `ids`, null for "the product's own"), and an order item its material
 * (`order_item.material_id`), which a render uses unless the order has a material override.
 */
export class Migration20261206001010_file_materials extends Migration {
  override name = 'Migration20261206001010_file_materials';

  override async up(): Promise<void> {
    this.addSql(`alter table uploaded_file add column materials text[]`);
    this.addSql(`alter table product_selection add column material_ids uuid[]`);
    this.addSql(`alter table order_item add column material_id uuid references material(id) on delete set null`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table order_item drop column material_id`);
    this.addSql(`alter table product_selection drop column material_ids`);
    this.addSql(`alter table uploaded_file drop column materials`);
  }
}
