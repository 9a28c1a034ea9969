import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import type { ChatMessage } from '../llm/client.ts';
import { noteMessage, summaryMessage } from './data-messages.ts';
import { recentMessages, type MessageRow, type RecentRead } from '../history/messages.ts';
import { saveSessionSummary } from '../history/sessions.ts';
import { estimateTokens, MESSAGE_OVERHEAD_TOKENS } from '../llm/tokens.ts';

/** Limits of the prompt window (docs/design.md §3). */
export type WindowOptions = {
  /** Token budget for history messages (the system prompt is separate). */
  budgetTokens: number;
  /** Most messages kept verbatim (the seed's 50). */
  maxMessages: number;
  /** Characters kept of a tool result from an earlier turn; the rest is cut with a note. */
  toolResultChars: number;
  /** Characters kept of a tool result of the turn in progress (the model may need every id in it). */
  currentToolResultChars: number;
  /** Token cap of the running summary of older turns. */
  summaryTokens: number;
};

export const defaultWindowOptions: WindowOptions = {
  budgetTokens: 3000,
  maxMessages: 50,
  toolResultChars: 1200,
  currentToolResultChars: 48_000,
  summaryTokens: 600,
};

/** A message of the history as the model sees it: never a system message (the system prompt holds only RenderBot's own text). */
type HistoryMessage = Exclude<ChatMessage, { role: 'system' }>;

/**
 * The history part of a prompt: a summary of folded turns plus the newest messages verbatim.
 * `messages` starts with the summary as a delimited data message (`summaryMessage` in data-messages.ts) when there is one;
 * stored notes (`system` rows) are delimited data messages too (`noteMessage`).
 */
export type HistoryWindow = {
  summary: string | null;
  messages: HistoryMessage[];
  tokens: number;
  folded: FoldedHistory;
};

/** How far a session's history is folded into its running summary (`chat_session.summary`, `summary_upto`). */
export type FoldedHistory = { summary: string | null; summaryUpto: number };

/** Messages that must stay together: an assistant tool-call message and all of its tool results. */
type Unit = { rows: MessageRow[]; messages: HistoryMessage[]; tokens: number };

/**
 * Builds the window for a session: the turn in progress (from the latest user message on)
 * in full, then the newest earlier units that fit the budget, never splitting a tool call from
 * its results. Units that fall out are folded into the session's running summary (persisted,
 * so each message is folded once).
 */
export async function buildWindow(
  em: EntityManager,
  sessionId: string,
  opts: WindowOptions = defaultWindowOptions,
  known?: FoldedHistory,
  read?: MessageRow[],
): Promise<HistoryWindow> {
  // `known`: the session's summary as the caller read it (turn setup, or the previous round's window) — one query less.
  const session =
    known ??
    (await db(em)
      .selectFrom('chat_session')
      .select(['summary', 'summaryUpto'])
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow());
  // `read`: the messages `windowRead(opts, known)` names, as the turn's first statement read them — another query less.
  const rows = known && read ? read : await recentMessages(em, sessionId, session.summaryUpto, opts.maxMessages * 3);
  const lastUser = rows.findLastIndex((r) => r.role === 'user');
  const currentFrom = lastUser >= 0 ? rows[lastUser]!.seq : Infinity;
  const units = groupUnits(rows, opts, currentFrom);
  const kept: Unit[] = [];
  let tokens = 0;
  let count = 0;
  for (let i = units.length - 1; i >= 0; i--) {
    const unit = units[i]!;
    const current = unit.rows[0]!.seq >= currentFrom;
    const fits = tokens + unit.tokens <= opts.budgetTokens && count + unit.messages.length <= opts.maxMessages;
    if (!fits && !current && kept.length > 0) break;
    kept.unshift(unit);
    tokens += unit.tokens;
    count += unit.messages.length;
  }
  const folded = units.slice(0, units.length - kept.length);
  let summary = session.summary;
  let summaryUpto = session.summaryUpto;
  if (folded.length) {
    summary = foldIntoSummary(
      summary,
      folded.flatMap((u) => u.rows),
      opts.summaryTokens,
    );
    summaryUpto = folded.at(-1)!.rows.at(-1)!.seq;
    await saveSessionSummary(em, sessionId, { summary, summaryUpto });
  }
  const messages = kept.flatMap((u) => u.messages);
  return {
    summary,
    messages: summary ? [summaryMessage(summary), ...messages] : messages,
    tokens: tokens + (summary ? estimateTokens(summary) : 0),
    folded: { summary, summaryUpto },
  };
}

/** The messages `buildWindow` reads for a session folded up to `folded`: a turn reads them with its first statement (`startTurnWithMessage`). */
export function windowRead(opts: WindowOptions, folded: FoldedHistory): RecentRead {
  return { afterSeq: folded.summaryUpto, limit: opts.maxMessages * 3 };
}

function groupUnits(rows: MessageRow[], opts: WindowOptions, currentFrom: number): Unit[] {
  const units: Unit[] = [];
  for (const row of rows) {
    const message = toChatMessage(row, row.seq >= currentFrom ? opts.currentToolResultChars : opts.toolResultChars);
    const tokens = estimateTokens(JSON.stringify(message)) + MESSAGE_OVERHEAD_TOKENS;
    // A tool result joins its call's unit even when a message was written in between (a
    // completion notice from a web turn's other process): the call and its results stay adjacent.
    const owner =
      row.role === 'tool'
        ? units.findLast((u) => u.rows[0]?.toolCalls?.some((c) => c.id === row.toolCallId))
        : undefined;
    if (owner) {
      owner.rows.push(row);
      owner.messages.push(message);
      owner.tokens += tokens;
    } else if (row.role === 'tool') {
      continue; // an orphaned result (its call was folded away) is never sent alone
    } else {
      units.push({ rows: [row], messages: [message], tokens });
    }
  }
  // A unit whose calls do not all have their results (a turn still in flight) would be rejected by the API.
  return units.filter((u) => {
    const calls = u.rows[0]?.toolCalls;
    return !calls?.length || calls.every((c) => u.rows.some((r) => r.toolCallId === c.id));
  });
}

function toChatMessage(row: MessageRow, toolResultChars: number): HistoryMessage {
  switch (row.role) {
    case 'tool': {
      const content =
        row.content.length > toolResultChars
          ? `${row.content.slice(0, toolResultChars)}… [truncated ${row.content.length - toolResultChars} characters]`
          : row.content;
      return { role: 'tool', tool_call_id: row.toolCallId ?? '', content };
    }
    case 'assistant':
      return row.toolCalls?.length
        ? {
            role: 'assistant',
            content: row.content || null,
            tool_calls: row.toolCalls.map((c) => ({
              id: c.id,
              type: 'function' as const,
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : { role: 'assistant', content: row.content };
    case 'system':
      // A note RenderBot stored (a confirmed action's results) quotes tenant data: a data message, never a system message.
      return noteMessage(row.content);
    case 'user':
      return { role: 'user', content: row.content };
  }
}

/** Extractive summary: one line per folded user/assistant message, newest kept when over the cap. */
function foldIntoSummary(previous: string | null, rows: MessageRow[], capTokens: number): string {
  const lines = previous ? previous.split('\n') : [];
  for (const row of rows) {
    if (row.role === 'user') lines.push(`- User: ${clip(row.content, 200)}`);
    else if (row.role === 'assistant' && row.content) lines.push(`- Assistant: ${clip(row.content, 200)}`);
    else if (row.role === 'assistant' && row.toolCalls?.length)
      lines.push(`- Assistant used: ${row.toolCalls.map((c) => `${c.name}(${clip(c.arguments, 80)})`).join(', ')}`);
    else if (row.role === 'system') lines.push(`- Note: ${clip(row.content, 200)}`);
  }
  while (lines.length > 1 && estimateTokens(lines.join('\n')) > capTokens) lines.shift();
  return lines.join('\n');
}

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
