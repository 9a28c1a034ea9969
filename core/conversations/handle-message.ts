import type { Actor, TurnScope } from '../turn-scope.ts';
import { explainedDecision } from '../actions/card.ts';
import { cancelAction, confirmAction } from '../actions/decide.ts';
import { latestPendingAction } from '../actions/store.ts';
import { runAgentTurn, type AgentDeps, type TurnOptions } from '../agent/turn.ts';
import { parseCommand } from '../commands/grammar.ts';
import { runCommand } from '../commands/run.ts';
import { textReply, type Reply } from '../replies/reply.ts';
import { NOTHING_TO_STOP_TEXT } from './stop-texts.ts';

/**
 * Handles one message now: a command, a typed confirm/cancel, or an agent turn. Throws what
 * went wrong (the drain settles it: history closed, the person told).
 */
export async function handleMessage(
  deps: AgentDeps,
  turn: TurnScope,
  text: string,
  opts: TurnOptions = {},
): Promise<Reply[]> {
  const em = deps.orm.em.fork();
  const cmd = parseCommand(text);
  if (cmd?.name === 'confirm' || cmd?.name === 'cancel') {
    const action = cmd.actionId ? { id: cmd.actionId } : await latestPendingAction(em, turn.tenantId, turn.sessionId);
    if (!action)
      return [{ blocks: [{ type: 'text', text: 'There is nothing waiting for confirmation in this conversation.' }] }];
    const actor: Actor = { tenantId: turn.tenantId, userId: turn.userId, role: turn.role, platform: turn.platform };
    const decision =
      cmd.name === 'cancel'
        ? await cancelAction(deps, actor, action.id)
        : await confirmAction(deps, actor, action.id, {
            ...(opts.delivery ? { delivery: opts.delivery } : {}),
            sessionId: turn.sessionId,
          });
    return [explainedDecision(decision)];
  }
  // Adapters stop on arrival (conversations.stop); a `stop` answered in its turn comes after what it meant to stop.
  if (cmd?.name === 'stop') return [textReply(NOTHING_TO_STOP_TEXT)];
  if (cmd?.name === 'link')
    return [
      {
        blocks: [
          {
            type: 'text',
            text: 'This workspace is already linked. Link codes are only needed for workspaces that are not linked yet.',
          },
        ],
      },
    ];
  if (cmd)
    return [
      await runCommand(
        { em, log: deps.log.child({ component: 'conversations' }), tools: deps.tools, now: deps.now },
        turn,
        cmd,
      ),
    ];
  return [await runAgentTurn(deps, turn, { kind: 'message', text }, opts)];
}
