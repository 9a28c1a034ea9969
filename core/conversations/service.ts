import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { Task } from 'graphile-worker';
import type { Actor, TurnContext } from '../context.ts';
import { explainedDecision } from '../actions/card.ts';
import { confirmAction, cancelAction } from '../actions/decide.ts';
import type { Decision } from '../actions/plan.ts';
import { expireActions, latestPendingAction } from '../actions/store.ts';
import { runAgentTurn, type AgentDeps, type TurnOptions } from '../agent/turn.ts';
import { parseCommand } from '../commands/grammar.ts';
import { runCommand } from '../commands/run.ts';
import { publicMessage } from '../errors.ts';
import { itemResult, pruneDoneItems, submitToSession, TURN_DONE_CHANNEL } from '../queue/session-inbox.ts';
import { pruneHandledRequests } from '../queue/inbound-requests.ts';
import type { Notifications } from '../queue/notifications.ts';
import type { SessionDrain } from '../queue/turn-runner.ts';
import type { Platform } from '../tenancy/roles.ts';
import { replySchema, type Reply } from '../replies/reply.ts';
import type { Deliverer, Delivery, Streamer } from '../replies/delivery.ts';
import { turnTask, type TurnJob } from './turn-job.ts';
import { createSessionDrain } from './drain.ts';

/** The cron task that deletes inbox items done long ago. */
export const PRUNE_TURNS_TASK = 'prune_turns';

/** A done item's replies as stored (anything else reads as none). */
const storedReplies = z.array(replySchema).catch([]);

export type ConversationDeps = AgentDeps & {
  deliverers: ReadonlyMap<Platform, Deliverer>;
  /** Platforms that show the model's text while it is written (queued agent turns only). */
  streamers?: ReadonlyMap<Platform, Streamer>;
  /** Cross-process wake-ups for callers waiting on an item (web requests); without, they poll. */
  notifications?: Notifications;
};

/** What `submit` did with a message. */
export type Submitted = { status: 'queued'; itemId: string } | { status: 'duplicate' };

/** The core's adapter contract (STYLE §2): start a turn, confirm/cancel, and the work behind them. */
export type Conversations = ReturnType<typeof createConversations>;

export function createConversations(deps: ConversationDeps) {
  const log = deps.log.child({ component: 'conversations' });
  const finished = new EventEmitter().setMaxListeners(0);
  let wakeLocal: (sessionId: string) => void = () => {};
  let listening = false;
  const listen = () => {
    if (listening || !deps.notifications) return;
    listening = true;
    deps.notifications.subscribe(TURN_DONE_CHANNEL, (itemId) => finished.emit(itemId));
  };

  /**
   * Answers one message now: a command, a typed confirm/cancel, or an agent turn. Throws what
   * went wrong (session inboxes settle it: history closed, the person told).
   */
  async function answer(turn: TurnContext, text: string, opts: TurnOptions = {}): Promise<Reply[]> {
    const em = deps.orm.em.fork();
    const cmd = parseCommand(text);
    if (cmd?.name === 'confirm' || cmd?.name === 'cancel') {
      const action = cmd.actionId ? { id: cmd.actionId } : await latestPendingAction(em, turn.tenantId, turn.sessionId);
      if (!action) return [{ blocks: [{ type: 'text', text: 'There is nothing waiting for confirmation in this conversation.' }] }];
      const actor: Actor = { tenantId: turn.tenantId, userId: turn.userId, role: turn.role, platform: turn.platform };
      const decision = cmd.name === 'cancel'
        ? await cancelAction(deps, actor, action.id)
        : await confirmAction(deps, actor, action.id, { ...(opts.delivery ? { delivery: opts.delivery } : {}), sessionId: turn.sessionId });
      return [explainedDecision(decision)];
    }
    if (cmd?.name === 'link') return [{ blocks: [{ type: 'text', text: 'This workspace is already linked. Link codes are only needed for workspaces that are not linked yet.' }] }];
    if (cmd) return [await runCommand({ em, log, tools: deps.tools, now: deps.now }, turn, cmd)];
    return [await runAgentTurn(deps, turn, { kind: 'message', text }, opts)];
  }

  /**
   * Answers one message now, like `answer`, but never throws for user-facing problems (an abort
   * through `opts.signal` does): for deterministic commands answered directly (Slack's `/render
   * <command>`) and for tests.
   */
  async function respond(turn: TurnContext, text: string, opts: TurnOptions = {}): Promise<Reply[]> {
    try {
      return await answer(turn, text, opts);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      log.error({ err, sessionId: turn.sessionId }, 'turn failed');
      return [{ blocks: [{ type: 'text', text: publicMessage(err) }] }];
    }
  }

  /**
   * Queues a message durably into its session's inbox and wakes a lease holder. `eventId` (the
   * platform's event/activity id) is recorded in the same statement, so a redelivered event is
   * recognised as handled — also after its turn ran.
   */
  async function submit(input: { turn: TurnContext; text: string; delivery: Delivery; eventId?: string }): Promise<Submitted> {
    const item = { task: turnTask, payload: { turn: input.turn, text: input.text, delivery: input.delivery } satisfies TurnJob };
    const event = input.eventId ? { platform: input.turn.platform, eventId: input.eventId } : undefined;
    const itemId = await submitToSession(deps.orm.em.fork(), input.turn, item, event);
    if (!itemId) return { status: 'duplicate' };
    wakeLocal(input.turn.sessionId);
    return { status: 'queued', itemId };
  }

  /**
   * The replies of a submitted item once it is done (whichever process ran it) and where its
   * messages begin (`fromSeq`, its stored user message; none for commands), or undefined when
   * `signal` aborts first. Woken by this process's drain, by NOTIFY from others, and polls every
   * `pollMs` in case a notification was missed.
   */
  async function result(itemId: string, opts: { signal?: AbortSignal; pollMs?: number } = {}): Promise<{ replies: Reply[]; fromSeq?: string } | undefined> {
    listen();
    const read = async () => {
      const r = await itemResult(deps.orm.em.fork(), itemId);
      if (!r?.done) return undefined;
      return { replies: storedReplies.parse(r.result), ...(r.progress.fromSeq ? { fromSeq: r.progress.fromSeq } : {}) };
    };
    for (;;) {
      if (opts.signal?.aborted) return undefined;
      const done = await read();
      if (done) return done;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          finished.off(itemId, wake);
          opts.signal?.removeEventListener('abort', wake);
          resolve();
        };
        const timer = setTimeout(wake, opts.pollMs ?? 2000);
        finished.once(itemId, wake);
        opts.signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** A button click: decides now (for the in-place card update); the follow-up is queued with the decision. */
  async function confirm(actor: Actor, actionId: string, delivery: Delivery): Promise<Decision> {
    const { executed: _executed, ...decision } = await confirmAction(deps, actor, actionId, { delivery });
    return decision;
  }

  async function cancel(actor: Actor, actionId: string): Promise<Decision> {
    return cancelAction(deps, actor, actionId);
  }

  const drain: SessionDrain = createSessionDrain({
    ...deps,
    log,
    answer,
    onFinished: (ids) => { for (const id of ids) finished.emit(id); },
  });

  /** graphile-worker cron tasks of the conversation side. */
  const tasks: Record<string, Task> = {
    [PRUNE_TURNS_TASK]: async () => {
      const n = await pruneDoneItems(deps.orm.em.fork(), 600);
      if (n) log.debug({ pruned: n }, 'deleted answered inbox items');
      // Platforms retry for minutes (Slack up to about 5, the Bot Framework less); a day is ample.
      const events = await pruneHandledRequests(deps.orm.em.fork(), 86_400);
      if (events) log.debug({ pruned: events }, 'forgot handled platform requests');
    },
    expire_actions: async () => {
      const n = await expireActions(deps.orm.em.fork());
      if (n) log.info({ expired: n }, 'expired pending actions');
    },
  };

  return {
    respond, submit, result, confirm, cancel, drain, tasks,
    /** Lets `submit` start a session's drain in this process at once (the turn runner's `wake`). */
    setLocalWake(wake: (sessionId: string) => void) { wakeLocal = wake; },
  };
}
