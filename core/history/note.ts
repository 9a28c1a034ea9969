import { z } from 'zod';
import { appendMessage } from './messages.ts';
import type { EntityManager } from '../db/orm.ts';
import { submitToSession } from '../queue/session-inbox.ts';
import { replySchema, replyText } from '../replies/reply.ts';

/** Inbox task that writes a message the bot sent on its own (e.g. a completion notice) into the session's history. */
export const historyNoteTask = 'history_note';

const historyNoteSchema = z.object({ tenantId: z.uuid(), sessionId: z.uuid(), reply: replySchema });
export type HistoryNote = z.infer<typeof historyNoteSchema>;

/**
 * Queues `note` into its session's inbox (in the caller's transaction), so it is written between
 * two turns of the session and never splits one turn's tool calls from their results.
 */
export async function queueHistoryNote(em: EntityManager, note: HistoryNote): Promise<void> {
  await submitToSession(
    em,
    { tenantId: note.tenantId, sessionId: note.sessionId },
    { task: historyNoteTask, payload: note },
  );
}

/** The inbox handler: the note becomes an assistant message the model sees in later turns. */
export async function writeHistoryNote(em: EntityManager, payload: unknown): Promise<void> {
  const note = historyNoteSchema.parse(payload);
  await appendMessage(em, {
    tenantId: note.tenantId,
    sessionId: note.sessionId,
    role: 'assistant',
    content: replyText(note.reply),
    reply: note.reply,
  });
}
