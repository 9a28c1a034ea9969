import { Migration } from '@mikro-orm/migrations';

/**
 * Defence in depth for query_database (docs/design.md §7): the query role must not be able to change
 * renderbot.tenant_id itself, so set_config is no longer executable by PUBLIC in this database;
 * the application user keeps it (the guarded runner sets the tenant before switching role).
 * Revoking needs ownership of the function (superuser); without it the guard alone stops
 * set_config, as before, and the migration says so in a notice.
 */
export class Migration20261125000100_lock_set_config extends Migration {
  override name = 'Migration20261125000100_lock_set_config';

  override async up(): Promise<void> {
    this.addSql(`do $$ begin
      revoke execute on function pg_catalog.set_config(text, text, boolean) from public;
      execute format('grant execute on function pg_catalog.set_config(text, text, boolean) to %I', current_user);
    exception when insufficient_privilege then
      raise notice 'set_config stays executable by PUBLIC (not a superuser); the SQL guard still refuses it';
    end $$`);
  }

  override async down(): Promise<void> {
    this.addSql(`grant execute on function pg_catalog.set_config(text, text, boolean) to public`);
  }
}
