import type { TurnScope } from '../turn-scope.ts';
import type { EntityManager } from '../db/orm.ts';
import { replyText, type Reply } from '../replies/reply.ts';
import { appendMessage, turnMessages } from '../history/messages.ts';
import { estimateTokens } from '../llm/tokens.ts';

/**
 * Ends a turn that will not be finished (interrupted too often, or failed): every tool call it
 * stored without a result gets one — a model call with a tool call without result fails for good —
 * and `reply` becomes its final reply in the history (`history` is the text the model sees of it, by
 * default the reply's). One transaction.
 */
export async function abandonTurn(
  em: EntityManager,
  turn: TurnScope,
  fromSeq: string | undefined,
  reply: Reply,
  history = replyText(reply),
): Promise<void> {
  await em.transactional(async (tx) => {
    if (fromSeq !== undefined) {
      const own = await turnMessages(tx, turn.sessionId, fromSeq);
      const withResult = new Set(own.filter((m) => m.role === 'tool').map((m) => m.toolCallId));
      for (const call of own.flatMap((m) => m.toolCalls ?? [])) {
        if (withResult.has(call.id)) continue;
        await appendMessage(tx, {
          tenantId: turn.tenantId,
          sessionId: turn.sessionId,
          role: 'tool',
          toolCallId: call.id,
          toolName: call.name,
          content: 'Error: the turn was interrupted before this ran.',
        });
      }
    }
    await appendMessage(tx, {
      tenantId: turn.tenantId,
      sessionId: turn.sessionId,
      role: 'assistant',
      content: history,
      reply,
      tokenCount: estimateTokens(history),
    });
  });
}
