import type { Me } from './api.ts';

/**
 * The launcher's unread badge (docs/design.md §12): answers and completion notices that arrived
 * while the panel was closed, by message id (an answer seen twice — the send's result and the
 * long-poll — counts once). Kept in this browser's localStorage per tenant and person, so it
 * survives a reload; `after` is where watching the conversation resumes.
 */
export type Unread = { sessionId: string; after: string; ids: string[] };

/** Ids kept at most: the badge shows "99+" beyond. */
const MAX_IDS = 100;

const keyOf = (who: Me) => `renderbot.unread.${who.tenant.slug}.${who.user_id}`;

export function loadUnread(who: Me): Unread | null {
  try {
    const v = JSON.parse(localStorage.getItem(keyOf(who)) ?? 'null') as Partial<Unread> | null;
    return v && typeof v.sessionId === 'string' && typeof v.after === 'string' && Array.isArray(v.ids)
      ? {
          sessionId: v.sessionId,
          after: v.after,
          ids: v.ids.filter((id): id is string => typeof id === 'string').slice(-MAX_IDS),
        }
      : null;
  } catch {
    return null;
  }
}

export function saveUnread(who: Me, unread: Unread | null): void {
  try {
    if (unread) localStorage.setItem(keyOf(who), JSON.stringify({ ...unread, ids: unread.ids.slice(-MAX_IDS) }));
    else localStorage.removeItem(keyOf(who));
  } catch {
    // Storage full or blocked: the badge then lasts only until a reload.
  }
}

/** `unread` with the assistant messages of `messages` added (the conversation is `sessionId`). */
export function withArrived(
  unread: Unread | null,
  sessionId: string,
  messages: readonly { id: string; role: string; cursor: string }[],
): Unread {
  const base = unread?.sessionId === sessionId ? unread : { sessionId, after: '0', ids: [] };
  const ids = [...base.ids];
  for (const m of messages) if (m.role === 'assistant' && m.id && !ids.includes(m.id)) ids.push(m.id);
  const after = messages.reduce((c, m) => (m.cursor && BigInt(m.cursor) > BigInt(c || '0') ? m.cursor : c), base.after);
  return { sessionId, after, ids };
}

export const badgeText = (n: number) => (n >= MAX_IDS ? '99+' : String(n));
