import type { TurnContext } from '../context.ts';
import type { EntityManager, Orm } from '../db/orm.ts';
import { publicMessage, RenderBotError } from '../errors.ts';
import type { ChatModel, ToolSpec } from '../llm/client.ts';
import type { Logger } from '../logger.ts';
import type { RenderLinks } from '../renders/signing.ts';
import { confirmBlock } from '../actions/card.ts';
import { createPendingAction } from '../actions/store.ts';
import type { Reply, ReplyBlock } from '../replies/reply.ts';
import { getTenantById } from '../tenancy/tenants.ts';
import { offeredTools, type ToolRegistry } from '../tools/registry.ts';
import { needsApproval } from '../tools/tool.ts';
import { appendMessage, type StoredToolCall } from './messages.ts';
import { planWrites, type WriteCall } from './plan-writes.ts';
import { systemPrompt } from './prompt.ts';
import { estimateTokens } from './tokens.ts';
import { monthlyUsage, recordUsage } from './usage.ts';
import { buildWindow, defaultWindowOptions, type WindowOptions } from './window.ts';
import { toolSpecs } from './specs.ts';
import { parseToolArguments } from '../tools/schema.ts';
import { commandHelpLine } from '../commands/help.ts';
import { getSessionContext, rememberOrderFromTool, turnContextSummary } from '../conversations/context.ts';

/** Returns the tenant's chat model, or undefined when the tenant has no AI configured. */
export type ModelProvider = (em: EntityManager, tenantId: string) => Promise<ChatModel | undefined>;

export type AgentDeps = {
  orm: Orm;
  log: Logger;
  tools: ToolRegistry;
  models: ModelProvider;
  now: () => Date;
  window?: WindowOptions;
  /** Signs links to rendered files for read tools (get_render_results). */
  renderLinks?: RenderLinks;
  /** Model rounds per turn before the agent gives up with a clear reply (DESIGN §4). */
  maxRounds?: number;
};

/** Per-turn options: `onText` receives the model's text as it streams (tool calls complete first). */
export type TurnOptions = { onText?: (delta: string) => void };

/** A user's message, or the follow-up after a confirmed action (its system note is already stored). */
export type TurnInput = { kind: 'message'; text: string } | { kind: 'followup'; fallback: string };

const MAX_BLOCKS_SHOWN = 3;

/**
 * Runs one agent turn (DESIGN §4) and returns the reply to show. Every path stores a
 * consistent history (each tool call answered) and ends with a user-facing reply.
 */
export async function runAgentTurn(deps: AgentDeps, turn: TurnContext, input: TurnInput, opts: TurnOptions = {}): Promise<Reply> {
  const em = deps.orm.em.fork();
  const log = deps.log.child({ component: 'agent', sessionId: turn.sessionId });
  const tenant = await getTenantById(em, turn.tenantId);
  if (!tenant) throw new RenderBotError('tenant_missing', 'The tenant of this conversation no longer exists.', 'scope');
  const reply = async (text: string, blocks: ReplyBlock[] = [], usage?: { promptTokens: number; completionTokens: number }): Promise<Reply> => {
    const r: Reply = { blocks: [...(text ? [{ type: 'text' as const, text }] : []), ...blocks] };
    await appendMessage(em, { tenantId: turn.tenantId, sessionId: turn.sessionId, role: 'assistant', content: text, reply: r,
      tokenCount: estimateTokens(text), promptTokens: usage?.promptTokens, completionTokens: usage?.completionTokens });
    return r;
  };

  // What the conversation is about (an order, a product) is stored with each user message too (seed schema).
  const sessionContext = await getSessionContext(em, turn.tenantId, turn.sessionId);
  if (input.kind === 'message') {
    await appendMessage(em, {
      tenantId: turn.tenantId, sessionId: turn.sessionId, userId: turn.userId, role: 'user', content: input.text, tokenCount: estimateTokens(input.text),
      contextType: sessionContext?.type ?? null, contextId: sessionContext?.id ?? null, titleIfUnset: input.text,
    });
  }
  const model = await deps.models(em, turn.tenantId);
  if (!model) {
    if (input.kind === 'followup') return reply(input.fallback);
    return reply(`AI is not configured for ${tenant.name} yet — ask an admin to run \`renderbot admin tenant ai --tenant ${tenant.slug} …\`. Meanwhile the commands work: ${commandHelpLine}.`);
  }
  const usage = await monthlyUsage(em, turn.tenantId, deps.now());
  if (usage.limit !== null && usage.totalTokens >= usage.limit) {
    if (input.kind === 'followup') return reply(input.fallback);
    return reply(`${tenant.name} has used its monthly AI allowance (${usage.totalTokens.toLocaleString('en')} of ${usage.limit.toLocaleString('en')} tokens); it renews on the 1st. Commands still work: ${commandHelpLine}.`);
  }

  const offered = offeredTools(deps.tools, turn);
  const specs: ToolSpec[] = toolSpecs(offered);
  const shown: ReplyBlock[] = [];
  const maxRounds = deps.maxRounds ?? 8;
  const context = await turnContextSummary(em, turn.tenantId, sessionContext);
  for (let round = 0; round < maxRounds; round++) {
    const window = await buildWindow(em, turn.sessionId, deps.window ?? defaultWindowOptions);
    const system = systemPrompt({ tenantName: tenant.name, turn, now: deps.now(), summary: window.summary, context });
    let result: Awaited<ReturnType<ChatModel['complete']>>;
    try {
      result = await model.complete({ messages: [{ role: 'system', content: system }, ...window.messages], tools: specs, ...(opts.onText ? { onText: opts.onText } : {}) });
    } catch (err) {
      log.warn({ err }, 'model call failed');
      if (input.kind === 'followup') return reply(input.fallback);
      return reply(publicMessage(err));
    }
    await recordUsage(em, turn.tenantId, result.usage.promptTokens, result.usage.completionTokens, deps.now());
    const tokens = { promptTokens: result.usage.promptTokens, completionTokens: result.usage.completionTokens };
    if (result.toolCalls.length === 0) return reply(result.content ?? '', shown.slice(-MAX_BLOCKS_SHOWN), tokens);

    const calls: StoredToolCall[] = result.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments }));
    await appendMessage(em, { tenantId: turn.tenantId, sessionId: turn.sessionId, role: 'assistant', content: result.content ?? '', toolCalls: calls, ...tokens });
    const answers = new Map<string, string>();
    const writes: WriteCall[] = [];
    const blocksOf: ReplyBlock[][] = calls.map(() => []);
    await Promise.all(calls.map(async (call, i) => {
      const tool = offered.get(call.name);
      if (!tool) return void answers.set(call.id, `Error: unknown tool "${call.name}". Available tools: ${[...offered.keys()].join(', ')}.`);
      const parsed = parseToolArguments(tool.parameters, call.arguments);
      if (!parsed.ok) return void answers.set(call.id, `Error: ${parsed.error}`);
      if (needsApproval(tool)) return void writes.push({ call, tool, args: parsed.args });
      try {
        const out = await tool.run({ turn, em: deps.orm.em.fork(), log, now: deps.now, renderLinks: deps.renderLinks }, parsed.args);
        answers.set(call.id, JSON.stringify(out.data));
        blocksOf[i] = out.blocks ?? [];
        await rememberOrderFromTool(em, turn.tenantId, turn.sessionId, call.name, out.data);
      } catch (err) {
        if (!(err instanceof RenderBotError)) log.error({ err, tool: call.name }, 'tool failed');
        answers.set(call.id, `Error: ${publicMessage(err)}`);
      }
    }));
    shown.push(...blocksOf.flat()); // in the order the model asked, not the order parallel calls finished
    const plan = await planWrites({ turn, em, log, now: deps.now }, writes, answers);
    let confirm: ReplyBlock | undefined;
    if (plan.length) {
      const action = await createPendingAction(em, turn, plan, deps.now());
      for (const step of plan) {
        answers.set(step.toolCallId, `Awaiting user confirmation (action ${action.id}); not executed yet. Do not call it again — the user will confirm or cancel.`);
      }
      confirm = confirmBlock(action);
    }
    for (const call of calls) {
      await appendMessage(em, { tenantId: turn.tenantId, sessionId: turn.sessionId, role: 'tool', toolCallId: call.id, toolName: call.name,
        content: answers.get(call.id) ?? 'Error: no result', tokenCount: estimateTokens(answers.get(call.id) ?? '') });
    }
    if (confirm) {
      const text = result.content?.trim() || 'Please review and confirm:';
      return reply(text, [...shown.slice(-MAX_BLOCKS_SHOWN + 1), confirm]);
    }
  }
  return reply(`I could not finish this within ${maxRounds} steps. Please narrow the request or ask again.`, shown.slice(-MAX_BLOCKS_SHOWN));
}
