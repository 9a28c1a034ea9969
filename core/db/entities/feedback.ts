import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant } from './tenancy.ts';
import { ChatMessage } from './chat.ts';
import { platforms } from '../../enums.ts';

/** 👍 or 👎. */
export const feedbackRatings = ['up', 'down'] as const;

/**
 * One person's feedback on one agent answer (docs/design.md §12), with a snapshot of what the
 * answer was made of; a second click of the same person replaces it (`answer_feedback_person_uq`).
 */
export const AnswerFeedback = defineEntity({
  name: 'AnswerFeedback',
  tableName: 'answer_feedback',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    message: p.manyToOne(ChatMessage).deleteRule('cascade'),
    sessionId: p.uuid(),
    platform: p.enum(platforms),
    userId: p.text(),
    rating: p.enum(feedbackRatings),
    reason: p.text().nullable(),
    model: p.text().nullable(),
    request: p.text().nullable(),
    answer: p.text(),
    tools: p.json<unknown>().defaultRaw(`'[]'::jsonb`),
    promptTokens: p.integer().default(0),
    completionTokens: p.integer().default(0),
    latencyMs: p.integer().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
    /** When the person gave it (the platform's click time): an older click, replayed late, never replaces it. */
    givenAt: p.datetime().defaultRaw('now()'),
  },
  uniques: [{ name: 'answer_feedback_person_uq', properties: ['message', 'platform', 'userId'] }],
  indexes: [
    {
      name: 'answer_feedback_tenant_updated_idx',
      columns: [{ name: 'tenant_id' }, { name: 'updated_at', sort: 'desc' }],
    },
  ],
});
export type AnswerFeedback = InferEntity<typeof AnswerFeedback>;

/** Where an agent answer was posted, for platforms whose feedback names the message (Teams: conversation and activity id). */
export const AnswerPost = defineEntity({
  name: 'AnswerPost',
  tableName: 'answer_post',
  properties: {
    tenant: p.manyToOne(Tenant).primary().deleteRule('cascade'),
    platform: p.enum(platforms).primary(),
    conversation: p.text().primary(),
    messageRef: p.text().primary(),
    message: p.manyToOne(ChatMessage).deleteRule('cascade'),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type AnswerPost = InferEntity<typeof AnswerPost>;
