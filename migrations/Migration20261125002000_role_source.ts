import { Migration } from '@mikro-orm/migrations';

/**
 * Where a person's role comes from: `default` roles are derived from what the platform says
 * (members operators, guests and external people viewers) and follow it when it changes;
 * `admin` roles were set by an admin and are kept. Existing rows: an operator in Slack, Teams or
 * the terminal may be a default (re-derived from now on, so a member who became a guest is a
 * viewer); every other existing role is kept, since an admin may have set it (a demotion to
 * viewer, a promotion to admin, every web role).
 */
export class Migration20261125002000_role_source extends Migration {
  override name = 'Migration20261125002000_role_source';

  override async up(): Promise<void> {
    this.addSql(`alter table tenant_user
      add column role_source text not null default 'admin' check (role_source in ('default', 'admin'))`);
    this.addSql(
      `update tenant_user set role_source = 'default' where role = 'operator' and platform in ('slack', 'teams', 'cli')`,
    );
    this.addSql(`alter table tenant_user alter column role_source set default 'default'`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table tenant_user drop column role_source`);
  }
}
