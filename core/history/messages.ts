import { sql } from 'kysely';
import { z } from 'zod';
import { db, type Row } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { replySchema, type Reply } from '../replies/reply.ts';
import { estimateTokens } from '../llm/tokens.ts';
import { recordTurnStart } from '../queue/session-inbox.ts';
import { messageRoles } from '../db/entities/chat.ts';
import { timestamp } from '../db/sql.ts';

/** A tool call as the model made it (arguments are the raw JSON string). */
export const storedToolCallSchema = z.object({ id: z.string(), name: z.string(), arguments: z.string() });
export type StoredToolCall = z.infer<typeof storedToolCallSchema>;

/** A chat_message (docs/design.md §3): the seed fields plus tool-call fields and the rendered reply. */
export type MessageRow = Pick<
  Row<'chat_message'>,
  'id' | 'seq' | 'role' | 'content' | 'userId' | 'toolCallId' | 'toolName' | 'tokenCount' | 'createdAt'
> & {
  toolCalls: StoredToolCall[] | null;
  reply: Reply | null;
};

const columns = [
  'id',
  'seq',
  'role',
  'content',
  'userId',
  'toolCalls',
  'toolCallId',
  'toolName',
  'tokenCount',
  'reply',
  'createdAt',
] as const;

const storedToolCallsSchema = z.array(storedToolCallSchema).nullable();
const storedReplySchema = replySchema.nullable().catch(null);

/** A stored message with its JSON checked; a reply that no longer validates reads as none (its text stays in `content`). */
function toMessage({ toolCalls, reply, ...row }: Pick<Row<'chat_message'>, (typeof columns)[number]>): MessageRow {
  return { ...row, toolCalls: storedToolCallsSchema.parse(toolCalls), reply: storedReplySchema.parse(reply) };
}

export type NewMessage = {
  /** Given by the caller when a reply must carry the message's id (an agent answer's feedback buttons); else generated. */
  id?: string;
  /** The model that wrote an agent answer. */
  model?: string | null;
  tenantId: string;
  sessionId: string;
  userId?: string | null;
  role: MessageRow['role'];
  content: string;
  contextType?: string | null;
  contextId?: string | null;
  tokenCount?: number;
  toolCalls?: StoredToolCall[] | null;
  toolCallId?: string | null;
  toolName?: string | null;
  reply?: Reply | null;
  /** A model response's tokens: stored with the message and added, in the same statement, to the tenant's usage of `month` (YYYY-MM-01). */
  usage?: ModelUsage;
};

/** The tokens one model call used, and the month (YYYY-MM-01) they count towards. */
export type ModelUsage = { promptTokens: number; completionTokens: number; month: string };

/** Characters a stored tool result keeps (docs/design.md §10: about 64 KB); every later turn of the session reloads it. */
export const MAX_TOOL_MESSAGE_CHARS = 64 * 1024;

/** A tool result as stored: cut at MAX_TOOL_MESSAGE_CHARS with a note the model can read. */
function capToolContent(content: string): string {
  if (content.length <= MAX_TOOL_MESSAGE_CHARS) return content;
  return `${content.slice(0, MAX_TOOL_MESSAGE_CHARS)}… [truncated: the tool result had ${content.length} characters; only the first ${MAX_TOOL_MESSAGE_CHARS} were kept. Ask for less.]`;
}

/** The session a message is appended to, touched: its last activity, and a title when it has none and `titleIfUnset` is given. */
function touchSession(em: EntityManager, m: { sessionId: string; titleIfUnset?: string }) {
  return db(em).with('touched', (q) =>
    q
      .updateTable('chat_session')
      .set({
        lastActiveAt: sql<Date>`now()`,
        title: sql<string | null>`coalesce(title, left(${m.titleIfUnset ?? null}::text, 80))`,
      })
      .where('id', '=', m.sessionId)
      .returning('id'),
  );
}

/**
 * Appends one message to a session and touches the session's last activity (and, with
 * `titleIfUnset`, names a session that has no title yet; with `usage`, counts a model
 * response's tokens) — one statement, one round trip. Tool results are capped (`capToolContent`).
 */
export async function appendMessage(em: EntityManager, m: NewMessage & { titleIfUnset?: string }): Promise<MessageRow> {
  const content = m.role === 'tool' ? capToolContent(m.content) : m.content;
  const { promptTokens = 0, completionTokens = 0 } = m.usage ?? {};
  const row = await touchSession(em, m)
    .with('usage', (q) =>
      q
        .insertInto('token_usage')
        .columns(['tenant', 'month', 'promptTokens', 'completionTokens', 'requests'])
        .expression(
          db(em)
            .selectNoFrom([
              sql<string>`${m.tenantId}::uuid`.as('tenant'),
              sql<string>`${m.usage?.month ?? null}::date`.as('month'),
              sql<number>`${promptTokens}::int`.as('promptTokens'),
              sql<number>`${completionTokens}::int`.as('completionTokens'),
              sql<number>`1`.as('requests'),
            ])
            .where(sql<boolean>`${m.usage !== undefined}::boolean`),
        )
        .onConflict((oc) =>
          oc.columns(['tenant', 'month']).doUpdateSet((eb) => ({
            promptTokens: eb('token_usage.promptTokens', '+', eb.ref('excluded.promptTokens')),
            completionTokens: eb('token_usage.completionTokens', '+', eb.ref('excluded.completionTokens')),
            requests: eb('token_usage.requests', '+', 1),
          })),
        )
        .returning('month'),
    )
    .insertInto('chat_message')
    .values({
      ...(m.id ? { id: m.id } : {}),
      model: m.model ?? null,
      tenant: m.tenantId,
      session: m.sessionId,
      userId: m.userId ?? null,
      role: m.role,
      content,
      contextType: m.contextType ?? null,
      contextId: m.contextId ?? null,
      tokenCount: m.tokenCount ?? 0,
      promptTokens,
      completionTokens,
      toolCalls: m.toolCalls ?? null,
      toolCallId: m.toolCallId ?? null,
      toolName: m.toolName ?? null,
      reply: m.reply ?? null,
    })
    .returning(columns)
    .executeTakeFirstOrThrow();
  return toMessage(row);
}

/** A person's message that starts a turn: who, what, and what the conversation is about. */
export type UserMessage = Pick<NewMessage, 'tenantId' | 'sessionId' | 'content' | 'contextType' | 'contextId'> & {
  userId: string;
};

/** A chat_message as a JSON object with `columns`' names, for statements that return messages next to other results. */
const messageJson = sql<unknown>`json_build_object('id', id, 'seq', seq, 'role', role, 'content', content, 'userId', user_id, 'toolCalls', tool_calls,
  'toolCallId', tool_call_id, 'toolName', tool_name, 'tokenCount', token_count, 'reply', reply, 'createdAt', created_at)`;
const messageJsonSchema = z.object({
  id: z.string(),
  seq: z.number(),
  role: z.enum(messageRoles),
  content: z.string(),
  userId: z.string().nullable(),
  toolCalls: z.unknown(),
  toolCallId: z.string().nullable(),
  toolName: z.string().nullable(),
  tokenCount: z.number(),
  reply: z.unknown(),
  createdAt: timestamp,
});
const messagesJsonSchema = z.array(messageJsonSchema);

/** Which of a session's messages a turn's first model call reads (its history window, core/agent/window.ts): the newest `limit` after `afterSeq`. */
export type RecentRead = { afterSeq: number; limit: number };

/**
 * Stores the message a turn answers and starts the turn — in one statement: the session is
 * touched (and titled by its first message), and the session inbox items the turn answers
 * (`turn_inbox`, docs/design.md §4) record that the turn's own messages come after this one, so an
 * interrupted attempt resumes after it instead of storing it twice. Returns its `seq` (as text)
 * and, when `recent` is given, what `recentMessages` would return right after it (the message
 * included), read by the same statement so the first model call costs no further round trip.
 */
export async function startTurnWithMessage(
  em: EntityManager,
  m: UserMessage,
  inboxItems: readonly string[],
  recent?: RecentRead,
): Promise<{ fromSeq: string; recent?: MessageRow[] }> {
  // The statement's reads do not see the row it inserts: `earlier` holds the messages before it.
  const earlier =
    recent && recent.limit > 1
      ? sql<unknown>`(select coalesce(json_agg(h.m order by h.seq), '[]'::json) from (
        select seq, ${messageJson} as m from chat_message where session_id = ${m.sessionId} and seq > ${recent.afterSeq} order by seq desc limit ${recent.limit - 1}) h)`
      : sql<unknown>`'[]'::json`;
  const row = await touchSession(em, { sessionId: m.sessionId, titleIfUnset: m.content })
    .with('added', (q) =>
      q
        .insertInto('chat_message')
        .values({
          tenant: m.tenantId,
          session: m.sessionId,
          userId: m.userId,
          role: 'user',
          content: m.content,
          tokenCount: estimateTokens(m.content),
          contextType: m.contextType ?? null,
          contextId: m.contextId ?? null,
        })
        .returning([sql<string>`seq::text`.as('fromSeq'), messageJson.as('message')]),
    )
    .with('started', () => recordTurnStart(em, m.sessionId, inboxItems, sql<string>`(select "fromSeq" from added)`))
    .selectFrom('added')
    .select(['fromSeq', 'message', earlier.as('earlier')])
    .executeTakeFirstOrThrow();
  if (!recent) return { fromSeq: row.fromSeq };
  const read = [...messagesJsonSchema.parse(row.earlier), messageJsonSchema.parse(row.message)];
  return { fromSeq: row.fromSeq, recent: read.slice(-recent.limit).map(toMessage) };
}

/**
 * Starts a turn that answers no new message (a confirmed plan's follow-up): the inbox items it
 * answers record, in one statement, that its own messages come after the session's newest.
 * Returns that `seq` (as text; '0' for an empty session).
 */
export async function startTurn(em: EntityManager, sessionId: string, inboxItems: readonly string[]): Promise<string> {
  const newest = sql<string>`(select coalesce(max(seq), 0)::text from chat_message where session_id = ${sessionId})`;
  const row = await db(em)
    .with('started', () => recordTurnStart(em, sessionId, inboxItems, newest))
    .selectNoFrom(newest.as('fromSeq'))
    .executeTakeFirstOrThrow();
  return row.fromSeq;
}

/** The newest `limit` messages of a session after sequence `afterSeq`, oldest first. */
export async function recentMessages(
  em: EntityManager,
  sessionId: string,
  afterSeq: number,
  limit: number,
): Promise<MessageRow[]> {
  const rows = await db(em)
    .selectFrom('chat_message')
    .select(columns)
    .where('session', '=', sessionId)
    .where('seq', '>', afterSeq)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  return rows.reverse().map(toMessage);
}

/** The model responses and tool results a turn stored after `fromSeq`, oldest first (for resuming it). */
export async function turnMessages(em: EntityManager, sessionId: string, fromSeq: string): Promise<MessageRow[]> {
  const rows = await db(em)
    .selectFrom('chat_message')
    .select(columns)
    .where('session', '=', sessionId)
    .where('seq', '>', Number(fromSeq))
    .where('role', 'in', ['assistant', 'tool'])
    .orderBy('seq')
    .execute();
  return rows.map(toMessage);
}
