import { Migration } from '@mikro-orm/migrations';

/**
 * `renderer_private_network`: the tenant's render farm runs on a private network, so its callbacks
 * may report `http:` result URLs (otherwise only `https:` is accepted; core/renders/farm.ts).
 */
export class Migration20261125001400_renderer_private_network extends Migration {
  override name = 'Migration20261125001400_renderer_private_network';

  override async up(): Promise<void> {
    this.addSql(`alter table tenant add column renderer_private_network boolean not null default false`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table tenant drop column if exists renderer_private_network`);
  }
}
