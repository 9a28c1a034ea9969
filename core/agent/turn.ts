import { whenStored, type DatabaseAvailability } from '../availability.ts';
import type { TurnScope } from '../turn-scope.ts';
import type { EntityManager, Orm } from '../db/orm.ts';
import { publicMessage, RenderBotError } from '../errors.ts';
import type { ChatModel, ChatResult, ChatUsage, ToolSpec } from '../llm/client.ts';
import type { ModelGate } from '../llm/model-gate.ts';
import { billedUsage, LlmRateLimitedError } from '../llm/retry.ts';
import { capOutput } from '../llm/output-limit.ts';
import type { Logger } from '../logger.ts';
import type { RenderLinks } from '../renders/signing.ts';
import { confirmBlock } from '../actions/card.ts';
import { createPendingAction } from '../actions/store.ts';
import type { Delivery } from '../replies/delivery.ts';
import type { Reply, ReplyBlock } from '../replies/reply.ts';
import type { TenantRow } from '../tenancy/tenants.ts';
import { recordThrottle } from '../llm/capacity.ts';
import { offeredTools, type ToolRegistry } from '../tools/registry.ts';
import { needsApproval, stepTitleOf, type ToolCites, type ToolDeps } from '../tools/tool.ts';
import { stepLine, type TurnStep } from '../replies/steps.ts';
import { nextSteps, type DoneCall } from '../tools/next-steps.ts';
import { randomUUID } from 'node:crypto';
import { answerSources } from './answer-sources.ts';
import { storedModelName } from '../llm/settings.ts';
import {
  appendMessage,
  startTurn,
  startTurnWithMessage,
  turnMessages,
  type ModelUsage,
  type StoredToolCall,
} from '../history/messages.ts';
import { planWrites, type WriteCall } from './plan-writes.ts';
import { refuseSharedCallIds, type RefusedCall } from './call-ids.ts';
import { systemPrompt } from './prompt.ts';
import { subjectMessage, workspaceMessage } from './data-messages.ts';
import { estimateTokens } from '../llm/tokens.ts';
import { monthOf } from '../llm/usage.ts';
import { loadTurnSetup } from './turn-setup.ts';
import type { StoredAi } from '../llm/settings.ts';
import { buildWindow, defaultWindowOptions, windowRead, type WindowOptions } from './window.ts';
import { toolSpecs } from './specs.ts';
import { parseToolArguments } from '../tools/schema.ts';
import { commandHelpLine } from '../commands/help.ts';
import { rememberSubject, turnSubjectSummary } from '../history/subject.ts';
import { mapLimit } from './limit.ts';
import { modelCallSeconds } from '../metrics.ts';

/** The tenant's chat model for its stored AI configuration, or undefined when the tenant has none. */
export type ModelProvider = (ai: StoredAi) => ChatModel | undefined;

export type AgentDeps = {
  orm: Orm;
  log: Logger;
  tools: ToolRegistry;
  models: ModelProvider;
  now: () => Date;
  window?: WindowOptions;
  /** Signs links to rendered files for read tools (get_render_results). */
  renderLinks?: RenderLinks;
  /** The pool model-written SQL runs on (query_database). */
  queryPool?: ToolDeps['queryPool'];
  /** Model rounds per turn before the agent gives up with a clear reply (docs/design.md §4). */
  maxRounds?: number;
  /** Caps each tenant's concurrent model calls in this process (docs/design.md §4); none = no cap. */
  gate?: ModelGate;
  /** Whether the database is reachable: a model's answer that arrives during an outage is stored once it is back. */
  availability?: DatabaseAvailability;
};

/** Per-turn options. */
export type TurnOptions = {
  /** Receives the model's text as it streams (tool calls complete first). */
  onText?: (delta: string) => void;
  /** Receives each tool call's step as it starts and ends (docs/design.md §12); must not throw or wait. */
  onStep?: (step: TurnStep) => void;
  /** Where the answer goes; a plan proposed in this turn remembers it (its follow-up and notices go there). */
  delivery?: Delivery;
  /** Stops the turn (shutdown, lost lease): the model call aborts and the turn throws instead of answering. */
  signal?: AbortSignal;
  /** Resumes an interrupted attempt: the turn's own messages are those after this `seq` (nothing is asked twice). */
  resumeFrom?: string;
  /** The session inbox items this turn answers: they record, with the turn's first write, after which `seq` its messages begin (`progress.fromSeq`). */
  inboxItems?: readonly string[];
};

/** A user's message, or the follow-up after a confirmed action (its note is already stored; `done` are the steps the confirmation ran). */
export type TurnInput = { kind: 'message'; text: string } | { kind: 'followup'; fallback: string; done?: DoneCall[] };

const MAX_BLOCKS_SHOWN = 3;
/** Read tools of one model response that run at once; the rest wait (docs/design.md §4). */
export const MAX_PARALLEL_TOOLS = 4;
/** Tool calls of one model response that get their results by running; the others are refused. */
export const MAX_TOOL_CALLS_PER_RESPONSE = 16;

/**
 * Runs one agent turn (docs/design.md §4) and returns the reply to show. Every model response is stored
 * as it arrives, and the results of its tool calls together once they are all in, so an
 * interrupted turn resumes (`resumeFrom`) without asking the model again for a stored response
 * (its tool calls run again only when their results were not stored yet). Every path stores a consistent history
 * (each tool call given its result) and ends with a user-facing reply — except an abort, which throws.
 * A misbehaving model is bounded: at most MAX_TOOL_CALLS_PER_RESPONSE calls of a response run, a
 * tool called wrongly (unknown, invalid arguments) in two responses in a row or `maxRounds` rounds
 * end the turn with a sentence saying so, an answer is cut at MAX_OUTPUT_CHARS, and a filtered or
 * cut-off (`length`) response is said to be one; every response the provider billed is counted.
 */
export async function runAgentTurn(
  deps: AgentDeps,
  turn: TurnScope,
  input: TurnInput,
  opts: TurnOptions = {},
): Promise<Reply> {
  const em = deps.orm.em.fork();
  const log = deps.log.child({ component: 'agent', sessionId: turn.sessionId });
  const setup = await loadTurnSetup(em, turn.tenantId, turn.sessionId, deps.now());
  if (!setup) throw new RenderBotError('tenant_missing', 'The tenant of this conversation no longer exists.', 'scope');
  const { tenant, usage, sessionSubject } = setup;
  // The turn's steps (docs/design.md §12), stored with whichever reply ends it.
  const steps = new Map<string, TurnStep>();
  // What this turn's tools did (and a follow-up's confirmed steps): the answer's next steps are built from it.
  const done: DoneCall[] = input.kind === 'followup' ? [...(input.done ?? [])] : [];
  // What the turn's tool calls read, cited under its answer (docs/design.md §12).
  const cited: ToolCites[] = [];
  /** Stores and returns the turn's final reply; an agent answer (`agent`) gets an id for its feedback buttons and its sources. */
  const reply = async (text: string, blocks: ReplyBlock[] = [], spent?: ModelUsage, agent = false): Promise<Reply> => {
    const id = agent ? randomUUID() : undefined;
    const suggestions = nextSteps(done, turn.role);
    const r: Reply = {
      blocks: [...(text ? [{ type: 'text' as const, text }] : []), ...blocks],
      ...(id ? { answer: { id, sources: answerSources(cited, deps.renderLinks, deps.now()) } } : {}),
      ...stepsOf(steps),
      ...(suggestions.length ? { suggestions } : {}),
    };
    await whenStored(
      deps.availability,
      opts.signal,
      () =>
        appendMessage(em, {
          tenantId: turn.tenantId,
          sessionId: turn.sessionId,
          role: 'assistant',
          content: text,
          reply: r,
          tokenCount: estimateTokens(text),
          ...(spent ? { usage: spent } : {}),
          ...(id ? { id, model: storedModelName(setup.ai) } : {}),
        }),
      { unsentOnly: true },
    );
    return r;
  };
  /** The reply of a turn the model took part in: an agent answer. */
  const answer = (text: string, blocks: ReplyBlock[], spent?: ModelUsage) => reply(text, blocks, spent, true);

  // What the conversation is about (an order, a product) is stored with each user message too (seed schema).
  // A new message's statement also reads the first round's history window (`read`): one round trip less.
  const windowOptions = deps.window ?? defaultWindowOptions;
  const started =
    opts.resumeFrom === undefined && input.kind === 'message'
      ? await startTurnWithMessage(
          em,
          {
            tenantId: turn.tenantId,
            sessionId: turn.sessionId,
            userId: turn.userId,
            content: input.text,
            contextType: sessionSubject?.type ?? null,
            contextId: sessionSubject?.id ?? null,
          },
          opts.inboxItems ?? [],
          setup.folded && windowRead(windowOptions, setup.folded),
        )
      : undefined;
  let read = started?.recent;
  const fromSeq = opts.resumeFrom ?? started?.fromSeq ?? (await startTurn(em, turn.sessionId, opts.inboxItems ?? []));
  const own = opts.resumeFrom ? await turnMessages(em, turn.sessionId, fromSeq) : [];
  const last = own.findLast((m) => m.role === 'assistant' && !m.toolCalls?.length);
  if (last) return last.reply ?? { blocks: last.content ? [{ type: 'text', text: last.content }] : [] };

  const model = deps.models(setup.ai);
  if (!model) {
    if (input.kind === 'followup') return reply(input.fallback);
    return reply(
      `AI is not configured for ${tenant.name} yet — ask an admin to run \`renderbot admin tenant ai --tenant ${tenant.slug} …\`. Meanwhile the commands work: ${commandHelpLine}.`,
    );
  }
  if (usage.limit !== null && usage.totalTokens >= usage.limit) {
    if (input.kind === 'followup') return reply(input.fallback);
    return reply(
      `${tenant.name} has used its monthly AI allowance (${usage.totalTokens.toLocaleString('en')} of ${usage.limit.toLocaleString('en')} tokens); it renews on the 1st. Commands still work: ${commandHelpLine}.`,
    );
  }

  // A tool not offered to this caller is unknown to it, also when the model calls it anyway.
  const offered = offeredTools(deps.tools, turn);
  const specs: ToolSpec[] = toolSpecs(offered);
  const shown: ReplyBlock[] = [];
  const maxRounds = deps.maxRounds ?? 8;
  const subjectNow = await turnSubjectSummary(em, turn.tenantId, sessionSubject);
  const step: Step = {
    deps,
    turn,
    em,
    log,
    shown,
    offered,
    delivery: opts.delivery,
    signal: opts.signal,
    toldTools: false,
    ran: new Map(),
    done,
    cited,
    steps,
    onStep: opts.onStep,
  };
  const spentOn = (usage: ChatUsage): ModelUsage => ({
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    month: monthOf(deps.now()),
  });

  // Resuming: the calls of the last stored model response that have no stored result yet run now.
  const calledBefore = own.filter((m) => m.role === 'assistant' && m.toolCalls?.length);
  let round = calledBefore.length;
  for (const call of calledBefore.flatMap((m) => m.toolCalls ?? [])) {
    const result = own.find((m) => m.role === 'tool' && m.toolCallId === call.id);
    if (result && !result.content.startsWith('Error:')) step.ran.set(call.name, (step.ran.get(call.name) ?? 0) + 1);
  }
  const lastCalls = calledBefore.at(-1)?.toolCalls ?? [];
  const withoutResult = lastCalls.filter((c) => !own.some((m) => m.role === 'tool' && m.toolCallId === c.id));
  // Tools the previous response called wrongly (unknown, invalid arguments): a second time in a row ends the turn.
  let invalidBefore = new Map<string, InvalidCall>();
  if (withoutResult.length) {
    const called = await runToolCalls(step, withoutResult, calledBefore.at(-1)?.content ?? '');
    if (called.proposed) return called.proposed;
    invalidBefore = called.invalid;
  }

  let folded = setup.folded;
  for (; round < maxRounds; round++) {
    // A stop (docs/design.md §12) ends the tool loop at the next step; the drain says so.
    opts.signal?.throwIfAborted();
    const window = await buildWindow(em, turn.sessionId, windowOptions, folded, read);
    folded = window.folded;
    read = undefined;
    const system = systemPrompt({ turn, now: deps.now() });
    let result: ChatResult;
    try {
      result = await callModel(
        deps,
        tenant,
        em,
        model,
        {
          // The workspace's name and what the conversation is about are tenant data: data messages after the system prompt, never inside it.
          messages: [
            { role: 'system', content: system },
            workspaceMessage(tenant.name),
            ...(subjectNow ? [subjectMessage(subjectNow)] : []),
            ...window.messages,
          ],
          tools: specs,
          ...(opts.onText ? { onText: opts.onText } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        log,
      );
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      log.warn({ err }, 'model call failed');
      // Attempts the provider billed before the call failed still count.
      const billed = billedUsage(err);
      return reply(
        input.kind === 'followup' ? input.fallback : publicMessage(err),
        [],
        billed ? spentOn(billed) : undefined,
      );
    }
    const spent = spentOn(result.usage);
    if (result.finishReason === 'content_filter') {
      // Nothing of a filtered response is kept: its text is cut off and its tool calls never run.
      log.warn({ round }, 'the AI provider filtered the model response');
      return answer(
        input.kind === 'followup' ? input.fallback : CONTENT_FILTERED_TEXT,
        shown.slice(-MAX_BLOCKS_SHOWN),
        spent,
      );
    }
    const content = capOutput(result.content ?? '');
    if (result.toolCalls.length === 0)
      return answer(answerText(content, result), shown.slice(-MAX_BLOCKS_SHOWN), spent);

    const calls: StoredToolCall[] = result.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments }));
    const refused = refuseSharedCallIds(calls);
    if (refused) {
      await storeRefused(em, turn, refused, content, spent);
      continue;
    }
    // A response the model was paid for is kept through a database outage (stored when it is back), not asked for again.
    await whenStored(
      deps.availability,
      opts.signal,
      () =>
        appendMessage(em, {
          tenantId: turn.tenantId,
          sessionId: turn.sessionId,
          role: 'assistant',
          content,
          toolCalls: calls,
          usage: spent,
        }),
      { unsentOnly: true },
    );
    const called = await runToolCalls(step, calls, content);
    if (called.proposed) return called.proposed;
    const again = [...called.invalid].find(([name]) => invalidBefore.has(name));
    if (again) return answer(calledWronglyTwice(...again), shown.slice(-MAX_BLOCKS_SHOWN));
    invalidBefore = called.invalid;
  }
  return answer(roundLimitText(maxRounds, step.ran), shown.slice(-MAX_BLOCKS_SHOWN));
}

/** The answer when the provider's content filter stopped the model's response (finish reason `content_filter`). */
const CONTENT_FILTERED_TEXT =
  "The AI service's content filter stopped this answer; please rephrase your message and try again.";
/** Appended to an answer the model ended at its token bound (finish reason `length`). */
const LENGTH_NOTE = '… (the answer was cut off at the length limit)';
/** The answer when the model reached its token bound before writing any text. */
const LENGTH_EMPTY_TEXT =
  'The answer was cut off at the length limit before any of it was written; please ask for less at once.';

/** A final answer's text (`content`, already capped): marked when the model ended it at its token bound. */
function answerText(content: string, result: ChatResult): string {
  if (result.finishReason !== 'length') return content;
  if (!content) return LENGTH_EMPTY_TEXT;
  // An answer cut at MAX_OUTPUT_CHARS already says so.
  return content === result.content ? `${content}${LENGTH_NOTE}` : content;
}

/** The answer when the turn used its `maxRounds` model rounds: what ran so far, in one sentence. */
function roundLimitText(maxRounds: number, ran: ReadonlyMap<string, number>): string {
  const times = [...ran].map(([name, n]) => `${name} ${n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`}`);
  const list = times.length > 1 ? `${times.slice(0, -1).join(', ')} and ${times.at(-1)}` : times[0];
  return `I could not finish this within ${maxRounds} steps${list ? ` (so far I ran ${list})` : ''}; please narrow the request or ask again.`;
}

/** Why a tool call got an error as its result before it could run. */
type InvalidCall = 'unknown' | 'arguments';

/** The answer when the model called the tool `name` wrongly in two responses in a row, after being told what was wrong. */
function calledWronglyTwice(name: string, why: InvalidCall): string {
  return why === 'unknown'
    ? `I stopped because I tried to use ${name}, a tool that does not exist, twice in a row; please rephrase the request.`
    : `I stopped because I called ${name} with invalid arguments twice in a row; please rephrase the request or add details.`;
}

/**
 * Stores a model response whose tool calls share ids, and the results refusing them, in one
 * transaction: none of its calls runs (also not when the turn resumes), and the next round asks
 * the model again with its mistake explained.
 */
async function storeRefused(
  em: EntityManager,
  turn: TurnScope,
  refused: RefusedCall[],
  content: string,
  spent: ModelUsage,
): Promise<void> {
  await em.transactional(async (tx) => {
    await appendMessage(tx, {
      tenantId: turn.tenantId,
      sessionId: turn.sessionId,
      role: 'assistant',
      content,
      toolCalls: refused.map((r) => r.call),
      usage: spent,
    });
    for (const { call, result } of refused) {
      await appendMessage(tx, {
        tenantId: turn.tenantId,
        sessionId: turn.sessionId,
        role: 'tool',
        toolCallId: call.id,
        toolName: call.name,
        content: result,
        tokenCount: estimateTokens(result),
      });
    }
  });
}

type Step = {
  deps: AgentDeps;
  turn: TurnScope;
  em: EntityManager;
  log: Logger;
  shown: ReplyBlock[];
  offered: ToolRegistry;
  delivery?: Delivery | undefined;
  /** Aborts on shutdown, a lost lease or a stop: no plan is proposed after it. */
  signal?: AbortSignal | undefined;
  /** Whether a result of this turn already listed the tools that exist (said once). */
  toldTools: boolean;
  /** How often each tool ran successfully in this turn (for the answer at the round limit). */
  ran: Map<string, number>;
  /** The turn's steps by tool call id, newest state each, in the order they started (stored with the reply). */
  steps: Map<string, TurnStep>;
  onStep?: ((step: TurnStep) => void) | undefined;
  /** The calls that ran, with their effects, in the order they finished (for the next steps). */
  done: DoneCall[];
  /** What the turn's tool calls read (`effects.cites`), in the order they were called. */
  cited: ToolCites[];
};

/** Records a step's new state and tells the stream; a failing listener never fails the turn. */
function emitStep(s: Step, step: TurnStep): void {
  s.steps.set(step.id, step);
  try {
    s.onStep?.(step);
  } catch (err) {
    s.log.warn({ err }, 'could not show a step');
  }
}

/** The reply's `steps` field: the turn's steps, or nothing when no tool ran. */
function stepsOf(steps: ReadonlyMap<string, TurnStep>): Pick<Reply, 'steps'> {
  return steps.size ? { steps: [...steps.values()] } : {};
}

/** What running one response's tool calls came to: the confirmation reply when a plan was proposed, and the calls refused as invalid. */
type CallsRun = { proposed: Reply | undefined; invalid: Map<string, InvalidCall> };

/** One model call, under the tenant's concurrency cap; a 429 lowers the cap here and, for other processes, in the tenant row. */
async function callModel(
  deps: AgentDeps,
  tenant: TenantRow,
  em: EntityManager,
  model: ChatModel,
  req: Parameters<ChatModel['complete']>[0],
  log: Logger,
): Promise<ChatResult> {
  const timer = modelCallSeconds.startTimer();
  try {
    const result = await gatedCall(deps, tenant, em, model, req, log);
    timer({ outcome: 'ok' });
    return result;
  } catch (err) {
    timer({ outcome: 'error' });
    throw err;
  }
}

/** How often one model call is tried when its provider keeps answering 429. */
const RATE_LIMITED_ATTEMPTS = 4;

/**
 * Runs the call under the tenant's cap. A 429 gives the slot back: the tenant's cap is lowered
 * for a while (here and, through the tenant row, in other processes) and the call queues again
 * behind the retry-after, instead of every waiting turn hammering the provider.
 */
async function gatedCall(
  deps: AgentDeps,
  tenant: TenantRow,
  em: EntityManager,
  model: ChatModel,
  req: Parameters<ChatModel['complete']>[0],
  log: Logger,
): Promise<ChatResult> {
  const gate = deps.gate;
  if (!gate) return model.complete(req);
  if (tenant.aiThrottledUntil && tenant.aiThrottleCap)
    gate.lowered(tenant.id, tenant.aiThrottleCap, tenant.aiThrottledUntil);
  for (let attempt = 1; ; attempt++) {
    let lowered: ReturnType<ModelGate['rateLimited']> | undefined;
    try {
      return await gate.run(
        tenant.id,
        tenant.aiMaxConcurrency,
        async () => {
          try {
            return await model.complete({ ...req, rateLimits: 'throw' });
          } catch (err) {
            // Lowered while this call still holds its slot, so no waiting call slips in at the old cap.
            if (err instanceof LlmRateLimitedError) lowered = gate.rateLimited(tenant.id, err.retryAfterMs);
            throw err;
          }
        },
        req.signal,
      );
    } catch (err) {
      if (!(err instanceof LlmRateLimitedError) || !lowered || attempt >= RATE_LIMITED_ATTEMPTS) throw err;
      log.warn(
        { cap: lowered.cap, until: lowered.until, retryAfterMs: err.retryAfterMs },
        'the AI provider rate-limited this tenant; lowering its concurrent model calls',
      );
      await recordThrottle(em.fork(), tenant.id, lowered.cap, lowered.until).catch((e: unknown) =>
        log.warn({ err: e }, 'could not record the lowered model cap'),
      );
    }
  }
}

/**
 * Runs the tool calls of one model response: the first MAX_TOOL_CALLS_PER_RESPONSE are
 * handled (the others are refused, so every call still gets its one result): read calls run (at
 * most MAX_PARALLEL_TOOLS at once), write calls become one pending action; an unknown tool is
 * given the names of the tools that exist (once a turn), invalid arguments with what is
 * wrong. The action, every call's result and — when a plan was proposed — the confirmation reply
 * (`intro` plus the blocks shown and the confirm card) are stored in one transaction, so a
 * resumed turn finds all of them or none; returns that reply and the calls refused as invalid.
 */
async function runToolCalls(s: Step, calls: StoredToolCall[], intro: string): Promise<CallsRun> {
  const { deps, turn, em, log, offered } = s;
  const results = new Map<string, string>();
  const invalid = new Map<string, InvalidCall>();
  const writes: WriteCall[] = [];
  const blocks: ReplyBlock[][] = [];
  const cites: (ToolCites | undefined)[] = [];
  const handled = calls.slice(0, MAX_TOOL_CALLS_PER_RESPONSE);
  for (const call of calls.slice(MAX_TOOL_CALLS_PER_RESPONSE)) {
    results.set(
      call.id,
      `Error: not run — too many tool calls in one response (${calls.length}; only the first ${MAX_TOOL_CALLS_PER_RESPONSE} are run). Make the calls still needed again, fewer at a time.`,
    );
  }
  if (handled.length < calls.length)
    log.warn({ calls: calls.length }, 'the model made too many tool calls in one response');
  await mapLimit(handled, MAX_PARALLEL_TOOLS, async (call, index) => {
    const tool = offered.get(call.name);
    if (!tool) {
      invalid.set(call.name, 'unknown');
      const result = s.toldTools
        ? `Error: unknown tool "${call.name}"; call only the tools you were given.`
        : `Error: unknown tool "${call.name}". Available tools: ${[...offered.keys()].join(', ')}.`;
      s.toldTools = true;
      return void results.set(call.id, result);
    }
    const parsed = parseToolArguments(tool.parameters, call.arguments);
    if (!parsed.ok) {
      invalid.set(call.name, 'arguments');
      return void results.set(call.id, `Error: ${parsed.error}`);
    }
    const running: TurnStep = { id: call.id, title: stepLine(stepTitleOf(tool, parsed.args)), state: 'running' };
    emitStep(s, running);
    if (needsApproval(tool)) return void writes.push({ call, tool, args: parsed.args });
    try {
      const out = await tool.run(
        { turn, em: deps.orm.em.fork(), log, now: deps.now, renderLinks: deps.renderLinks, queryPool: deps.queryPool },
        parsed.args,
      );
      emitStep(s, { ...running, state: 'done', ...(out.outcome ? { result: stepLine(out.outcome) } : {}) });
      results.set(call.id, JSON.stringify(out.data));
      s.ran.set(call.name, (s.ran.get(call.name) ?? 0) + 1);
      s.done.push({ tool: call.name, effects: out.effects });
      blocks[index] = out.blocks ?? [];
      cites[index] = out.effects?.cites;
      await rememberSubject(em, turn.tenantId, turn.sessionId, out.effects?.subject);
    } catch (err) {
      if (!(err instanceof RenderBotError)) log.error({ err, tool: call.name }, 'tool failed');
      emitStep(s, { ...running, state: 'failed', result: stepLine(publicMessage(err)) });
      results.set(call.id, `Error: ${publicMessage(err)}`);
    }
  });
  // Stopped while the reads ran: no confirmation is offered (the drain closes the open calls).
  s.signal?.throwIfAborted();
  // Blocks in the order the model asked for them, not the order the calls finished.
  s.shown.push(...blocks.flatMap((b) => b ?? []));
  s.cited.push(...cites.filter((c) => c !== undefined));
  const plan = await planWrites(
    { turn, em, log, now: deps.now },
    writes.sort((a, b) => calls.indexOf(a.call) - calls.indexOf(b.call)),
    results,
  );
  for (const w of writes) {
    const planned = plan.some((p) => p.toolCallId === w.call.id);
    const result = results.get(w.call.id) ?? '';
    const running = s.steps.get(w.call.id);
    if (!running) continue;
    emitStep(
      s,
      planned || !result.startsWith('Error:')
        ? { ...running, state: 'done', result: planned ? 'needs your confirmation' : 'combined into one confirmation' }
        : { ...running, state: 'failed', result: stepLine(result.slice('Error:'.length)) },
    );
  }
  const proposed = await em.transactional(async (tx) => {
    let confirm: ReplyBlock | undefined;
    if (plan.length) {
      const action = await createPendingAction(
        tx,
        turn,
        plan,
        deps.now(),
        s.delivery ? { delivery: s.delivery } : undefined,
      );
      for (const p of plan) {
        results.set(
          p.toolCallId,
          `Awaiting user confirmation (action ${action.id}); not executed yet. Do not call it again — the user will confirm or cancel.`,
        );
      }
      confirm = confirmBlock(action);
    }
    for (const call of calls) {
      const content = results.get(call.id) ?? 'Error: no result';
      await appendMessage(tx, {
        tenantId: turn.tenantId,
        sessionId: turn.sessionId,
        role: 'tool',
        toolCallId: call.id,
        toolName: call.name,
        content,
        tokenCount: estimateTokens(content),
      });
    }
    if (!confirm) return undefined;
    // The confirmation is the turn's final reply, stored with its action: a resumed turn finds it there.
    const text = intro.trim() || 'Please review and confirm:';
    const reply: Reply = {
      blocks: [{ type: 'text', text }, ...s.shown.slice(-MAX_BLOCKS_SHOWN + 1), confirm],
      ...stepsOf(s.steps),
    };
    await appendMessage(tx, {
      tenantId: turn.tenantId,
      sessionId: turn.sessionId,
      role: 'assistant',
      content: text,
      reply,
      tokenCount: estimateTokens(text),
    });
    return reply;
  });
  return { proposed, invalid };
}
