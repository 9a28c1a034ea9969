import { Migration } from '@mikro-orm/migrations';

/**
 * Counters of the web API's rate limits (core/rate-limits.ts), shared by every process on the
 * database. The columns are the ones rate-limiter-flexible's RateLimiterPostgres reads and writes
 * (`expire` in epoch milliseconds); it is told the table exists and never creates it.
 */
export class Migration20261125001300_rate_limits extends Migration {
  override name = 'Migration20261125001300_rate_limits';

  override async up(): Promise<void> {
    this.addSql(`create table rate_limit (
      key varchar(255) primary key,
      points integer not null default 0,
      expire bigint
    )`);
    this.addSql(`create index rate_limit_expire_idx on rate_limit (expire)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists rate_limit`);
  }
}
