import { Migration } from '@mikro-orm/migrations';

/**
 * Feedback on agent answers (docs/design.md §12): an agent answer is its assistant
 * `chat_message` (the id its buttons carry) and remembers the model that wrote it (`model`).
 * `answer_feedback` holds one row per person and answer — a second click replaces the first —
 * with a snapshot of what the answer was made of (request, tools called, tokens, latency, text),
 * taken when the feedback is given. `answer_post` remembers where an answer was posted on a
 * platform whose feedback names the message, not the answer (Teams: the activity id).
 */
export class Migration20261206005000_answer_feedback extends Migration {
  override name = 'Migration20261206005000_answer_feedback';

  override async up(): Promise<void> {
    this.addSql(`alter table chat_message add column model text`);
    this.addSql(`create table answer_feedback (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenant(id) on delete cascade,
      message_id uuid not null references chat_message(id) on delete cascade,
      session_id uuid not null,
      platform text not null check (platform in ('slack', 'teams', 'web', 'cli')),
      user_id text not null,
      rating text not null check (rating in ('up', 'down')),
      reason text,
      model text,
      request text,
      answer text not null,
      tools jsonb not null default '[]'::jsonb,
      prompt_tokens int not null default 0,
      completion_tokens int not null default 0,
      latency_ms int,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint answer_feedback_person_uq unique (message_id, platform, user_id)
    )`);
    this.addSql(`create index answer_feedback_tenant_updated_idx on answer_feedback (tenant_id, updated_at desc)`);
    this.addSql(`create table answer_post (
      tenant_id uuid not null references tenant(id) on delete cascade,
      platform text not null check (platform in ('slack', 'teams', 'web', 'cli')),
      conversation text not null,
      message_ref text not null,
      message_id uuid not null references chat_message(id) on delete cascade,
      created_at timestamptz not null default now(),
      primary key (tenant_id, platform, conversation, message_ref)
    )`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists answer_post`);
    this.addSql(`drop table if exists answer_feedback`);
    this.addSql(`alter table chat_message drop column model`);
  }
}
