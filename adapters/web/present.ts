import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SessionListItem, VisibleMessage } from '../../core/conversations/intake.ts';
import { replySchema, replyText, type Reply } from '../../core/replies/reply.ts';
import type { ApiMessage } from './schemas.ts';

const iso = (v: string | Date) => new Date(v).toISOString();

/** A stored message as the API shows it. */
export function apiMessage(m: VisibleMessage): ApiMessage {
  const reply = m.reply ? replySchema.safeParse(m.reply) : undefined;
  return {
    id: m.id,
    role: m.role,
    content: m.content,
    created_at: iso(m.createdAt),
    cursor: String(m.seq),
    reply: reply?.success ? reply.data : null,
  };
}

/** One reply out of several (e.g. the decision card and the follow-up after a typed `confirm`). */
function mergeReplies(replies: Reply[]): Reply {
  // An agent answer (with feedback buttons and sources) is a turn's last reply; so are the next
  // steps, which follow from where the turn ended. The turn's steps are all its replies'.
  const answer = replies.findLast((r) => r.answer)?.answer;
  const steps = replies.flatMap((r) => r.steps ?? []);
  const suggestions = replies.at(-1)?.suggestions;
  return {
    blocks: replies.flatMap((r) => r.blocks),
    ...(answer ? { answer } : {}),
    ...(steps.length ? { steps } : {}),
    ...(suggestions?.length ? { suggestions } : {}),
  };
}

/**
 * The API pair for a finished turn: the stored user message and the response, whose reply is
 * what the turn returned. `stored` starts with the turn's user message (the turn's first answer
 * follows it). Commands (help, orders …) are answered without history rows; they get ids of
 * their own and no cursor position.
 */
export function turnResult(
  text: string,
  replies: Reply[],
  stored: VisibleMessage[],
  now: Date,
): { message: ApiMessage; response: ApiMessage } {
  const user = stored[0]?.role === 'user' ? stored[0] : undefined;
  const assistant = user ? stored.find((m) => m.role === 'assistant') : undefined;
  const reply = mergeReplies(replies);
  const message: ApiMessage = user
    ? apiMessage(user)
    : { id: randomUUID(), role: 'user', content: text, created_at: now.toISOString(), cursor: '', reply: null };
  const response: ApiMessage = assistant
    ? { ...apiMessage(assistant), content: replyText(reply), reply }
    : {
        id: randomUUID(),
        role: 'assistant',
        content: replyText(reply),
        created_at: now.toISOString(),
        cursor: '',
        reply,
      };
  return { message, response };
}

/** A session in the list. */
export function apiSession(s: SessionListItem) {
  return {
    session_id: s.id,
    title: s.title,
    last_message: s.lastMessage,
    message_count: s.messageCount,
    created_at: iso(s.createdAt),
    last_active_at: iso(s.lastActiveAt),
  };
}

/** Opaque page cursors: a list of strings, base64url JSON. */
const cursors = {
  encode: (parts: string[]) => Buffer.from(JSON.stringify(parts)).toString('base64url'),
  decode(value: string | null): string[] | undefined {
    if (!value) return undefined;
    try {
      const parts: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
      return Array.isArray(parts) && parts.every((p) => typeof p === 'string') ? parts : undefined;
    } catch {
      return undefined;
    }
  },
};

/**
 * PostgreSQL's text form of a timestamptz as session cursors carry it (`2026-03-02 10:00:00.123456+00`):
 * years 1–9999, an offset PostgreSQL accepts (below ±16 hours).
 */
const PG_TIMESTAMPTZ =
  /^((?!0000)\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)([+-](?:0\d|1[0-5]))(?::([0-5]\d))?$/;
const isoDateTime = z.iso.datetime({ offset: true });
const sessionCursorSchema = z.tuple([
  z.string().refine((s) => {
    const m = PG_TIMESTAMPTZ.exec(s);
    return m !== null && isoDateTime.safeParse(`${m[1]}T${m[2]}${m[3]}:${m[4] ?? '00'}`).success;
  }),
  z.uuid(),
]);

/** Session list cursors: the last session's activity time exactly as stored, and its id. */
export const sessionCursors = {
  encode: (s: { activeKey: string; id: string }) => cursors.encode([s.activeKey, s.id]),
  /** Where the next page starts; undefined for anything this API did not make (damaged or forged: a date that is none, no uuid). */
  decode(value: string): { lastActiveAt: string; id: string } | undefined {
    const parsed = sessionCursorSchema.safeParse(cursors.decode(value));
    return parsed.success ? { lastActiveAt: parsed.data[0], id: parsed.data[1] } : undefined;
  },
};
