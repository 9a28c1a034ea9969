import { Migration } from '@mikro-orm/migrations';

/**
 * When a person gave their 👍/👎 (the platform's click time): a click whose handling a database
 * outage cut short is replayed later, and must not replace a newer click of the same person.
 * Feedback stored so far was given when it was last updated.
 */
export class Migration20261206009000_feedback_given_at extends Migration {
  override name = 'Migration20261206009000_feedback_given_at';

  override async up(): Promise<void> {
    this.addSql(`alter table answer_feedback add column given_at timestamptz`);
    this.addSql(`update answer_feedback set given_at = updated_at`);
    this.addSql(
      `alter table answer_feedback alter column given_at set default now(), alter column given_at set not null`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table answer_feedback drop column given_at`);
  }
}
