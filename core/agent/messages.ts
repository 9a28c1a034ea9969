import { query, queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import type { Reply } from '../replies/reply.ts';

/** A tool call as the model made it (arguments are the raw JSON string). */
export type StoredToolCall = { id: string; name: string; arguments: string };

/** A chat_message row (DESIGN §3): the seed fields plus tool-call fields and the rendered reply. */
export type MessageRow = {
  id: string;
  seq: string;
  role: 'user' | 'assistant' | 'tool' | 'system';
  content: string;
  user_id: string | null;
  tool_calls: StoredToolCall[] | null;
  tool_call_id: string | null;
  tool_name: string | null;
  token_count: number;
  reply: Reply | null;
  created_at: string;
};

export type NewMessage = {
  tenantId: string;
  sessionId: string;
  userId?: string | null;
  role: MessageRow['role'];
  content: string;
  contextType?: string | null;
  contextId?: string | null;
  tokenCount?: number;
  promptTokens?: number;
  completionTokens?: number;
  toolCalls?: StoredToolCall[] | null;
  toolCallId?: string | null;
  toolName?: string | null;
  reply?: Reply | null;
};

/** Characters a stored tool result keeps (DESIGN §10: about 64 KB); every later turn of the session reloads it. */
export const MAX_TOOL_MESSAGE_CHARS = 64 * 1024;

/** A tool result as stored: cut at MAX_TOOL_MESSAGE_CHARS with a note the model can read. */
export function capToolContent(content: string): string {
  if (content.length <= MAX_TOOL_MESSAGE_CHARS) return content;
  return `${content.slice(0, MAX_TOOL_MESSAGE_CHARS)}… [truncated: the tool result had ${content.length} characters; only the first ${MAX_TOOL_MESSAGE_CHARS} were kept. Ask for less.]`;
}

/**
 * Appends one message to a session and touches the session's last activity (and, with
 * `titleIfUnset`, names a session that has no title yet) — one statement, one round trip.
 * Tool results are capped (`capToolContent`).
 */
export async function appendMessage(em: EntityManager, m: NewMessage & { titleIfUnset?: string }): Promise<MessageRow> {
  const content = m.role === 'tool' ? capToolContent(m.content) : m.content;
  const row = await queryOne<MessageRow>(em,
    `with touched as (
       update chat_session set last_active_at = now(), title = coalesce(title, left(?::text, 80)) where id = ?
     )
     insert into chat_message (tenant_id, session_id, user_id, role, content, context_type, context_id, token_count,
       prompt_tokens, completion_tokens, tool_calls, tool_call_id, tool_name, reply)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?::jsonb)
     returning id, seq, role, content, user_id, tool_calls, tool_call_id, tool_name, token_count, reply, created_at`,
    [m.titleIfUnset ?? null, m.sessionId,
      m.tenantId, m.sessionId, m.userId ?? null, m.role, content, m.contextType ?? null, m.contextId ?? null, m.tokenCount ?? 0,
      m.promptTokens ?? 0, m.completionTokens ?? 0, m.toolCalls ? JSON.stringify(m.toolCalls) : null, m.toolCallId ?? null,
      m.toolName ?? null, m.reply ? JSON.stringify(m.reply) : null],
  );
  return row!;
}

/** The newest `limit` messages of a session after sequence `afterSeq`, oldest first. */
export async function recentMessages(em: EntityManager, sessionId: string, afterSeq: number, limit: number): Promise<MessageRow[]> {
  const rows = await query<MessageRow>(em,
    `select id, seq, role, content, user_id, tool_calls, tool_call_id, tool_name, token_count, reply, created_at
     from chat_message where session_id = ? and seq > ? order by seq desc limit ?`,
    [sessionId, afterSeq, limit],
  );
  return rows.reverse();
}

/** The newest `seq` of a session ('0' when it has no message yet). */
export async function lastSeq(em: EntityManager, sessionId: string): Promise<string> {
  const row = await queryOne<{ seq: string | null }>(em, `select max(seq)::text as seq from chat_message where session_id = ?`, [sessionId]);
  return row?.seq ?? '0';
}

/** The model responses and tool results a turn stored after `fromSeq`, oldest first (for resuming it). */
export async function turnMessages(em: EntityManager, sessionId: string, fromSeq: string): Promise<MessageRow[]> {
  return query<MessageRow>(em,
    `select id, seq, role, content, user_id, tool_calls, tool_call_id, tool_name, token_count, reply, created_at
     from chat_message where session_id = ? and seq > ? and role in ('assistant', 'tool') order by seq`,
    [sessionId, fromSeq]);
}
