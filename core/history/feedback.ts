import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { row, rows, timestamp } from '../db/sql.ts';
import { feedbackRatings } from '../db/entities/feedback.ts';
import type { Platform } from '../tenancy/roles.ts';

export type FeedbackRating = (typeof feedbackRatings)[number];

/** Longest reason kept; longer ones are cut (a reason is tenant-written data, never parsed). */
const MAX_FEEDBACK_REASON = 2000;

/** One person's 👍/👎 on one agent answer; `reason` is what they wrote, if anything. */
export type FeedbackInput = {
  tenantId: string;
  platform: Platform;
  userId: string;
  answerId: string;
  rating: FeedbackRating;
  reason?: string | undefined;
  /** When the person gave it (the platform's click time; now if it has none; never later than five minutes from now). */
  givenAt?: Date | undefined;
};

/** Whether the answer was found (of the tenant, an agent answer), and whether the feedback was stored (not older than the person's stored one). */
const feedbackOutcome = z.object({ found: z.boolean(), applied: z.boolean() });

/** What became of a person's feedback: stored, older than what they gave since (a late replay), or for no answer of theirs. */
export type FeedbackOutcome = 'saved' | 'superseded' | 'not_found';

/**
 * Stores a person's feedback on an agent answer of their tenant — one statement: a first click
 * inserts the row with a snapshot of what the answer was made of (the request it answered, the
 * tools called, the turn's tokens, the time from request to answer, the model, the text); a
 * later click of the same person replaces rating and reason (a click older than the stored one,
 * replayed after an outage, changes nothing: 'superseded'). An answer id that is unknown, of
 * another tenant, or not an agent answer changes nothing: 'not_found' (indistinguishably).
 */
export async function recordFeedback(em: EntityManager, f: FeedbackInput): Promise<FeedbackOutcome> {
  const reason = f.reason?.trim().slice(0, MAX_FEEDBACK_REASON) || null;
  const outcome = await row(
    em,
    feedbackOutcome,
    `
    with answer as (
      select m.id, m.tenant_id, m.session_id, m.seq, m.model, m.content, m.created_at
      from chat_message m
      where m.id = ? and m.tenant_id = ? and m.role = 'assistant' and m.reply->'answer' is not null
    ), request as (
      -- The message the turn answered: the newest person's message (or note of a confirmed action) before the answer.
      select r.seq, r.role, r.content, r.created_at from chat_message r, answer a
      where r.session_id = a.session_id and r.seq < a.seq and r.role in ('user', 'system')
      order by r.seq desc limit 1
    ), turn as (
      select coalesce(jsonb_agg(t.tool_name order by t.seq) filter (where t.role = 'tool'), '[]'::jsonb) as tools,
             coalesce(sum(t.prompt_tokens), 0)::int as prompt_tokens, coalesce(sum(t.completion_tokens), 0)::int as completion_tokens
      from chat_message t, answer a
      where t.session_id = a.session_id and t.seq > coalesce((select seq from request), 0) and t.seq <= a.seq
    ), saved as (
      insert into answer_feedback as f (tenant_id, message_id, session_id, platform, user_id, rating, reason, model, request, answer, tools,
        prompt_tokens, completion_tokens, latency_ms, given_at)
      select a.tenant_id, a.id, a.session_id, ?, ?, ?, ?, a.model, (select case when role = 'user' then content end from request), a.content, turn.tools,
        turn.prompt_tokens, turn.completion_tokens,
        (select (extract(epoch from a.created_at - created_at) * 1000)::int from request),
        least(coalesce(?::timestamptz, now()), now() + interval '5 minutes')
      from answer a, turn
      on conflict (message_id, platform, user_id) do update
        set rating = excluded.rating, reason = excluded.reason, given_at = excluded.given_at, updated_at = now()
        where f.given_at <= excluded.given_at
      returning f.id
    )
    select exists (select 1 from answer) as found, exists (select 1 from saved) as applied`,
    [f.answerId, f.tenantId, f.platform, f.userId, f.rating, reason, f.givenAt?.toISOString() ?? null],
  );
  if (!outcome?.found) return 'not_found';
  return outcome.applied ? 'saved' : 'superseded';
}

/** A stored feedback row as admins read it. */
export const feedbackRow = z.object({
  answer_id: z.string(),
  session_id: z.string(),
  platform: z.string(),
  user_id: z.string(),
  rating: z.enum(feedbackRatings),
  reason: z.string().nullable(),
  model: z.string().nullable(),
  request: z.string().nullable(),
  answer: z.string(),
  tools: z.array(z.string()),
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  latency_ms: z.number().nullable(),
  updated_at: timestamp,
});
export type FeedbackRow = z.infer<typeof feedbackRow>;

/** A tenant's feedback given since `since`, newest first; with `negative`, only 👎. */
export async function listFeedback(
  em: EntityManager,
  tenantId: string,
  opts: { since: Date; negative?: boolean; limit?: number },
): Promise<FeedbackRow[]> {
  return rows(
    em,
    feedbackRow,
    `
    select message_id as answer_id, session_id, platform, user_id, rating, reason, model, request, answer, tools,
           prompt_tokens, completion_tokens, latency_ms, updated_at
    from answer_feedback
    where tenant_id = ? and updated_at >= ? ${opts.negative ? `and rating = 'down'` : ''}
    order by updated_at desc limit ?`,
    [tenantId, opts.since, opts.limit ?? 200],
  );
}

/** Counts of 👍 and 👎: of one tenant since `since`, or (no tenant) of all tenants ever (the /metrics totals). */
export async function feedbackCounts(
  em: EntityManager,
  scope: { tenantId: string; since: Date } | 'all',
): Promise<{ up: number; down: number }> {
  const counted = await row(
    em,
    z.object({ up: z.coerce.number(), down: z.coerce.number() }),
    `
    select count(*) filter (where rating = 'up') as up, count(*) filter (where rating = 'down') as down
    from answer_feedback ${scope === 'all' ? '' : 'where tenant_id = ? and updated_at >= ?'}`,
    scope === 'all' ? [] : [scope.tenantId, scope.since],
  );
  return counted ?? { up: 0, down: 0 };
}

/** Where an agent answer was posted on a platform whose feedback names the message (Teams activity), remembered once. */
export type AnswerPosted = {
  tenantId: string;
  platform: Platform;
  conversation: string;
  messageRef: string;
  answerId: string;
};

/** Remembers where an answer was posted (one statement; a repeat changes nothing). */
export async function rememberAnswerPost(em: EntityManager, p: AnswerPosted): Promise<void> {
  await em.execute(
    `
    insert into answer_post (tenant_id, platform, conversation, message_ref, message_id)
    select ?, ?, ?, ?, m.id from chat_message m where m.id = ? and m.tenant_id = ?
    on conflict do nothing`,
    [p.tenantId, p.platform, p.conversation, p.messageRef, p.answerId, p.tenantId],
  );
}

/** The answer posted as `messageRef` in a conversation of the tenant, or undefined. */
export async function postedAnswer(em: EntityManager, q: Omit<AnswerPosted, 'answerId'>): Promise<string | undefined> {
  const found = await row(
    em,
    z.object({ message_id: z.string() }),
    `
    select message_id from answer_post where tenant_id = ? and platform = ? and conversation = ? and message_ref = ?`,
    [q.tenantId, q.platform, q.conversation, q.messageRef],
  );
  return found?.message_id;
}
