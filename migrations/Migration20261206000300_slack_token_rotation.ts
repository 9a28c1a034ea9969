import { Migration } from '@mikro-orm/migrations';

/**
 * Slack token rotation: an installation's expiring bot token is refreshed by one process at a
 * time (`refresh_claim` until `refresh_claim_until`, compare-and-set; the Slack call runs with no
 * transaction open), and a refresh Slack refused is remembered (`refresh_failed_at`,
 * `refresh_error`: Slack's error code, never a token) until the workspace installs the app again.
 */
export class Migration20261206000300_slack_token_rotation extends Migration {
  override name = 'Migration20261206000300_slack_token_rotation';

  override async up(): Promise<void> {
    this.addSql(`alter table slack_installation
      add column refresh_claim text,
      add column refresh_claim_until timestamptz,
      add column refresh_failed_at timestamptz,
      add column refresh_error text`);
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table slack_installation drop column refresh_claim, drop column refresh_claim_until, drop column refresh_failed_at, drop column refresh_error`,
    );
  }
}
