import type { TurnScope } from '../turn-scope.ts';
import type { EntityManager } from '../db/orm.ts';
import { publicMessage, RenderBotError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Reply, ReplyBlock } from '../replies/reply.ts';
import { monthlyUsage } from '../llm/usage.ts';
import { deleteSession, renewSession } from '../history/sessions.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { Command } from './grammar.ts';
import { hasRole, type Platform } from '../tenancy/roles.ts';
import { commandHelp } from './help.ts';

export type CommandDeps = { em: EntityManager; log: Logger; tools: ToolRegistry; now: () => Date };

/**
 * Runs a read or session command without any AI (docs/design.md §8). `confirm`/`cancel` and `link`
 * need more than a turn context and are handled by the conversation service and adapters.
 */
export async function runCommand(
  deps: CommandDeps,
  turn: TurnScope,
  cmd: Exclude<Command, { name: 'confirm' | 'cancel' | 'link' | 'stop' }>,
): Promise<Reply> {
  const viaTool = async (tool: string, args: Record<string, unknown>): Promise<Reply> => {
    const t = deps.tools.get(tool);
    if (!t || t.kind !== 'read') throw new Error(`missing read tool ${tool}`);
    try {
      const out = await t.run({ turn, em: deps.em, log: deps.log, now: deps.now }, t.parameters.parse(args));
      const blocks: ReplyBlock[] = out.blocks?.length
        ? out.blocks
        : [{ type: 'text', text: out.summary ?? JSON.stringify(out.data) }];
      return { blocks };
    } catch (err) {
      if (!(err instanceof RenderBotError)) deps.log.error({ err, tool }, 'command failed');
      return { blocks: [{ type: 'text', text: publicMessage(err) }] };
    }
  };
  switch (cmd.name) {
    case 'help':
      return {
        blocks: [
          {
            type: 'text',
            text: 'Ask me in plain words (e.g. "Render all Kugellager products as WebP at 1024x1024"), or use a command:',
          },
          {
            type: 'table',
            columns: ['Command', 'What it does'],
            rows: commandHelp.map((c) => [c.usage, c.does]),
            total: commandHelp.length,
            truncated: false,
          },
        ],
      };
    case 'orders':
      return viaTool('list_orders', { ...(cmd.status ? { status: cmd.status } : {}), limit: 10 });
    case 'order':
      return viaTool('get_order_status', { order_id: cmd.ref });
    case 'search':
      return viaTool('search_products', {
        ...(cmd.query ? { query: cmd.query } : {}),
        ...(cmd.category ? { category: cmd.category } : {}),
        limit: 25,
      });
    case 'stats':
      return viaTool('get_render_stats', {});
    case 'usage': {
      const u = await monthlyUsage(deps.em, turn.tenantId, deps.now());
      return {
        blocks: [
          {
            type: 'facts',
            title: `AI usage ${u.month.slice(0, 7)}`,
            facts: [
              { label: 'Prompt tokens', value: u.promptTokens.toLocaleString('en') },
              { label: 'Completion tokens', value: u.completionTokens.toLocaleString('en') },
              { label: 'Model calls', value: String(u.requests) },
              {
                label: 'Monthly limit',
                value:
                  u.limit === null
                    ? 'none'
                    : `${u.limit.toLocaleString('en')} (${Math.round((u.totalTokens / Math.max(1, u.limit)) * 100)}% used)`,
              },
            ],
          },
        ],
      };
    }
    case 'new':
      if (!mayResetConversation(turn)) return sharedRefusal('new');
      await renewSession(deps.em, turn.tenantId, turn.sessionId);
      return {
        blocks: [
          { type: 'text', text: 'Started a new conversation. Earlier messages in this thread are no longer used.' },
        ],
      };
    case 'forget':
      if (!mayResetConversation(turn)) return sharedRefusal('forget');
      await deleteSession(deps.em, turn.tenantId, turn.sessionId);
      return {
        blocks: [{ type: 'text', text: 'Forgot this conversation: its messages and open confirmations were deleted.' }],
      };
  }
}

const sharedByDefault: ReadonlySet<Platform> = new Set(['slack', 'teams']);

/**
 * `new` and `forget` end everyone's conversation, pending confirmations included: in a shared
 * conversation only operators and admins may; in a personal one, its owner (the only person in it).
 */
function mayResetConversation(turn: TurnScope): boolean {
  const shared = turn.shared ?? sharedByDefault.has(turn.platform);
  return !shared || hasRole(turn.role, 'operator');
}

function sharedRefusal(command: 'new' | 'forget'): Reply {
  return {
    blocks: [
      {
        type: 'text',
        text: `Other people use this conversation too, so only operators and admins can use \`${command}\` here. Ask one of them, or write to me directly.`,
      },
    ],
  };
}
