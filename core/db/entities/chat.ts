import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant } from './tenancy.ts';
import { platforms } from '../../enums.ts';

/**
 * One conversation thread (docs/design.md §3); `key` is platform-specific, unique among active sessions.
 * Whoever holds its lease (`SessionLease`) drives its turns.
 */
export const ChatSession = defineEntity({
  name: 'ChatSession',
  tableName: 'chat_session',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    platform: p.enum(platforms),
    key: p.text(),
    title: p.text().nullable(),
    context: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    summary: p.text().nullable(),
    summaryUpto: p.bigint('number').defaultRaw('0'),
    createdBy: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    lastActiveAt: p.datetime().defaultRaw('now()'),
    archivedAt: p.datetime().nullable(),
  },
  uniques: [
    { name: 'chat_session_active_key_uq', properties: ['tenant', 'platform', 'key'], where: 'archived_at is null' },
  ],
  indexes: [
    {
      name: 'chat_session_tenant_active_idx',
      columns: [{ name: 'tenant_id' }, { name: 'last_active_at', sort: 'desc' }],
    },
    {
      name: 'chat_session_web_user_idx',
      columns: [{ name: 'tenant_id' }, { name: 'created_by' }, { name: 'last_active_at', sort: 'desc' }],
      where: `platform = 'web'`,
    },
  ],
});
export type ChatSession = InferEntity<typeof ChatSession>;

/**
 * Who wrote a chat message. `system` is a note RenderBot stored (a confirmed action and its
 * results): it quotes tenant data, so the model gets it as a delimited user-role data message
 * (`noteMessage`), never as a system message, and people's history views leave it out.
 */
export const messageRoles = ['user', 'assistant', 'tool', 'system'] as const;

/** One message of a session: user text, a model response (with its tool calls) or a tool result. */
export const ChatMessage = defineEntity({
  name: 'ChatMessage',
  tableName: 'chat_message',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    /** Order of messages within the database (identity). */
    seq: p.bigint('number').autoincrement().generated('identity'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    userId: p.text().nullable(),
    session: p.manyToOne(ChatSession).deleteRule('cascade'),
    role: p.enum(messageRoles),
    content: p.text().default(''),
    contextType: p.text().nullable(),
    contextId: p.text().nullable(),
    tokenCount: p.integer().default(0),
    promptTokens: p.integer().default(0),
    completionTokens: p.integer().default(0),
    toolCalls: p.json<unknown>().nullable(),
    toolCallId: p.text().nullable(),
    toolName: p.text().nullable(),
    reply: p.json<unknown>().nullable(),
    /** The model that wrote an agent answer (docs/design.md §12). */
    model: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    { name: 'chat_message_session_seq_idx', properties: ['session', 'seq'] },
    { name: 'chat_message_tenant_created_idx', properties: ['tenant', 'createdAt'] },
  ],
});
export type ChatMessage = InferEntity<typeof ChatMessage>;

/** Model tokens used per tenant and month (`month` is the first day, `YYYY-MM-DD`). */
export const TokenUsage = defineEntity({
  name: 'TokenUsage',
  tableName: 'token_usage',
  properties: {
    tenant: p.manyToOne(Tenant).primary().deleteRule('cascade'),
    month: p.date().primary(),
    promptTokens: p.bigint('number').defaultRaw('0'),
    completionTokens: p.bigint('number').defaultRaw('0'),
    requests: p.integer().default(0),
  },
});
export type TokenUsage = InferEntity<typeof TokenUsage>;
