import { z } from 'zod';
import { turnContextSchema, type TurnContext } from '../context.ts';
import { confirmAction, cancelAction, type Actor, type Executed } from '../actions/decide.ts';
import { rememberOrderFromTool } from './context.ts';
import type { Decision } from '../actions/plan.ts';
import { expireActions, latestPendingAction } from '../actions/store.ts';
import { runAgentTurn, type AgentDeps, type TurnOptions } from '../agent/turn.ts';
import { parseCommand } from '../commands/grammar.ts';
import { runCommand } from '../commands/run.ts';
import { publicMessage } from '../errors.ts';
import { createSessionDrain, requeueWaiting, SESSION_DRAIN_TASK, submitToSession, type InboxHandlers } from '../queue/session-inbox.ts';
import type { Platform } from '../tenancy/roles.ts';
import { historyNoteTask, writeHistoryNote } from './history-note.ts';
import { deliverySchema, type Deliverer, type Delivery, type SentMessage, type Streamer } from './delivery.ts';
import type { Reply } from '../replies/reply.ts';
import type { Task } from 'graphile-worker';

const turnJobSchema = z.object({ turn: turnContextSchema, text: z.string(), delivery: deliverySchema });
const followUpJobSchema = z.object({ turn: turnContextSchema, fallback: z.string(), delivery: deliverySchema });
type TurnJob = z.infer<typeof turnJobSchema>;
type FollowUpJob = z.infer<typeof followUpJobSchema>;

/** The cron task that hands turns a crashed process left in an inbox to a new drain job. */
export const REQUEUE_TASK = 'requeue_turns';

export type ConversationDeps = AgentDeps & {
  deliverers: ReadonlyMap<Platform, Deliverer>;
  /** Platforms that show the model's text while it is written (queued agent turns only). */
  streamers?: ReadonlyMap<Platform, Streamer>;
};

/** The core's adapter contract (STYLE §2): start a turn, confirm/cancel, and the queue tasks behind them. */
export type Conversations = ReturnType<typeof createConversations>;

export function createConversations(deps: ConversationDeps) {
  const log = deps.log.child({ component: 'conversations' });

  /** Answers one message: a command, typed confirm/cancel, or an agent turn. Never throws for user-facing problems. */
  async function respond(turn: TurnContext, text: string, opts: TurnOptions & { delivery?: Delivery } = {}): Promise<Reply[]> {
    const em = deps.orm.em.fork();
    try {
      const cmd = parseCommand(text);
      if (cmd?.name === 'confirm' || cmd?.name === 'cancel') {
        const action = cmd.actionId ? { id: cmd.actionId } : await latestPendingAction(em, turn.tenantId, turn.sessionId);
        if (!action) return [{ blocks: [{ type: 'text', text: 'There is nothing waiting for confirmation in this conversation.' }] }];
        const actor: Actor = { tenantId: turn.tenantId, userId: turn.userId, role: turn.role, platform: turn.platform };
        if (cmd.name === 'cancel') return [withMessage(await cancelAction(deps, actor, action.id))];
        const decision = await confirmAction(deps, actor, action.id, opts.delivery ? { delivery: opts.delivery } : {});
        if (!decision.executed) return [withMessage(decision)];
        await rememberExecuted(decision.executed);
        return [decision.reply, await runAgentTurn(deps, { ...turn, sessionId: decision.executed.action.session_id }, { kind: 'followup', fallback: decision.message }, opts)];
      }
      if (cmd?.name === 'link') return [{ blocks: [{ type: 'text', text: 'This workspace is already linked. Link codes are only needed for workspaces that are not linked yet.' }] }];
      if (cmd) return [await runCommand({ em, log, tools: deps.tools, now: deps.now }, turn, cmd)];
      return [await runAgentTurn(deps, turn, { kind: 'message', text }, opts)];
    } catch (err) {
      log.error({ err, sessionId: turn.sessionId }, 'turn failed');
      return [{ blocks: [{ type: 'text', text: publicMessage(err) }] }];
    }
  }

  /**
   * Queues a message durably. `eventId` (the platform's event/activity id) is recorded in the
   * same statement, so a redelivered event is recognised as handled — also after its turn ran.
   */
  async function submit(input: { turn: TurnContext; text: string; delivery: Delivery; eventId?: string }): Promise<'queued' | 'duplicate'> {
    const item = { task: 'turn', payload: { turn: input.turn, text: input.text, delivery: input.delivery } satisfies TurnJob };
    const event = input.eventId ? { platform: input.turn.platform, eventId: input.eventId } : undefined;
    return (await submitToSession(deps.orm.em.fork(), input.turn, item, event)) ? 'queued' : 'duplicate';
  }

  /** A button click: decides now (for the in-place card update) and queues the model's follow-up. */
  async function confirm(actor: Actor, actionId: string, delivery: Delivery): Promise<Decision> {
    const decision = await confirmAction(deps, actor, actionId, { delivery });
    if (decision.executed) {
      await rememberExecuted(decision.executed);
      const sessionId = decision.executed.action.session_id;
      const turn: TurnContext = { tenantId: actor.tenantId, userId: actor.userId, role: actor.role, platform: actor.platform, sessionId };
      await submitToSession(deps.orm.em.fork(), turn, { task: 'followup', payload: { turn, fallback: decision.message, delivery } satisfies FollowUpJob });
    }
    const { executed: _executed, ...rest } = decision;
    return rest;
  }

  /** The order a confirmed plan created becomes what the thread is about (context summaries). */
  async function rememberExecuted(executed: Executed): Promise<void> {
    const em = deps.orm.em.fork();
    for (const r of executed.results) await rememberOrderFromTool(em, executed.action.tenant_id, executed.action.session_id, r.tool, r.data);
  }

  async function cancel(actor: Actor, actionId: string): Promise<Decision> {
    return cancelAction(deps, actor, actionId);
  }

  /** Sends replies in order; the last one replaces the message its text was streamed into. */
  async function deliver(delivery: Delivery, replies: Reply[], sessionId: string, streamed?: SentMessage): Promise<void> {
    const deliverer = deps.deliverers.get(delivery.platform);
    if (!deliverer) throw new Error(`no deliverer for ${delivery.platform}`);
    for (const [index, reply] of replies.entries()) {
      await deliverer(delivery.target, reply, { sessionId, index, ...(streamed && index === replies.length - 1 ? { replace: streamed } : {}) });
    }
  }

  /**
   * Runs `answer` with the model's text streamed to the delivery's platform (where it streams and
   * `streaming` holds), then delivers its replies, the last one replacing the streamed message.
   */
  async function answerStreaming(delivery: Delivery, sessionId: string, streaming: boolean, answer: (opts: TurnOptions) => Promise<Reply[]>): Promise<void> {
    const stream = streaming ? deps.streamers?.get(delivery.platform)?.(delivery.target, { sessionId }) : undefined;
    const replies = await answer(stream ? { onText: stream.push } : {});
    await deliver(delivery, replies, sessionId, await stream?.end());
  }

  /** Answers one queued message (or several merged into it). Commands and typed decisions answer at once; only agent turns stream. */
  async function runTurn(job: TurnJob): Promise<void> {
    await answerStreaming(job.delivery, job.turn.sessionId, !parseCommand(job.text), (opts) => respond(job.turn, job.text, { delivery: job.delivery, ...opts }));
  }

  /**
   * Messages that waited while a turn ran (DESIGN §4): consecutive plain messages of one person
   * become one turn, answered where the last of them was asked; the earlier ones only have their
   * "working on it" indicator removed. Commands and other people's messages run on their own.
   */
  async function runTurns(jobs: TurnJob[]): Promise<void> {
    for (const group of mergeableRuns(jobs)) {
      const last = group.at(-1)!;
      for (const merged of group.slice(0, -1)) {
        await deps.deliverers.get(merged.delivery.platform)?.(merged.delivery.target, { blocks: [] }, { sessionId: merged.turn.sessionId, index: 0, merged: true })
          .catch((err: unknown) => log.warn({ err, sessionId: merged.turn.sessionId }, 'could not settle a merged message'));
      }
      await runTurn(group.length === 1 ? last : { ...last, text: group.map((j) => j.text).join('\n\n') });
    }
  }

  /** What a queued follow-up or history note does, by inbox task name (turns come in batches: `runTurns`). */
  const handlers: InboxHandlers = {
    [historyNoteTask]: (payload) => writeHistoryNote(deps.orm.em.fork(), payload),
    followup: async (payload) => {
      const job = followUpJobSchema.parse(payload);
      await answerStreaming(job.delivery, job.turn.sessionId, true, async (opts) => [await runAgentTurn(deps, job.turn, { kind: 'followup', fallback: job.fallback }, opts)]);
    },
  };

  /** graphile-worker tasks: session drains, plus `turn`/`followup` for jobs an older version queued directly. */
  const tasks: Record<string, Task> = {
    [SESSION_DRAIN_TASK]: createSessionDrain(handlers, log, { turn: (payloads) => runTurns(payloads.map((p) => turnJobSchema.parse(p))) }),
    turn: (payload) => runTurn(turnJobSchema.parse(payload)),
    followup: (payload) => handlers.followup!(payload),
    [REQUEUE_TASK]: async () => {
      const n = await requeueWaiting(deps.orm.em.fork(), 60);
      if (n) log.warn({ sessions: n }, 'requeued sessions with turns waiting for over a minute');
    },
    expire_actions: async () => {
      const n = await expireActions(deps.orm.em.fork());
      if (n) log.info({ expired: n }, 'expired pending actions');
    },
  };

  return { respond, submit, confirm, cancel, tasks };
}

/** The decision card with its explanation on top, for typed confirm/cancel. */
function withMessage(d: Decision): Reply {
  return { blocks: [{ type: 'text', text: d.message }, ...d.reply.blocks.filter((b) => b.type !== 'text')] };
}

/** Splits queued messages into runs that may be answered as one turn: plain text of the same person and role, in order. */
function mergeableRuns(jobs: TurnJob[]): TurnJob[][] {
  const runs: TurnJob[][] = [];
  const plain = (j: TurnJob) => !parseCommand(j.text);
  for (const job of jobs) {
    const run = runs.at(-1);
    const prev = run?.at(-1);
    if (run && prev && plain(prev) && plain(job) && prev.turn.userId === job.turn.userId && prev.turn.role === job.turn.role) run.push(job);
    else runs.push([job]);
  }
  return runs;
}
