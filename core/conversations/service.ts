import { z } from 'zod';
import type { Task } from 'graphile-worker';
import type { Actor, TurnScope } from '../turn-scope.ts';
import { recordFeedback, type FeedbackOutcome, type FeedbackRating } from '../history/feedback.ts';
import { confirmAction, cancelAction } from '../actions/decide.ts';
import type { Decision } from '../actions/plan.ts';
import { expireActions } from '../actions/store.ts';
import type { TurnOptions } from '../agent/turn.ts';
import { publicMessage, UserInputError } from '../errors.ts';
import { createIdempotency, pruneKeys } from '../idempotency.ts';
import { itemResult, pruneDoneItems, submitToSession } from '../queue/session-inbox.ts';
import { pruneHandledRequests } from '../queue/inbound-requests.ts';
import { replySchema, type Reply } from '../replies/reply.ts';
import type { Delivery } from '../replies/delivery.ts';
import { handleMessage } from './handle-message.ts';
import type { ConversationDeps } from './deps.ts';
import type { Files } from '../files/service.ts';
import { turnTask, type TurnJob } from './turn-job.ts';
import { stopSession, stopStreamed } from './stop.ts';
import type { StopOutcome } from './stop-texts.ts';
import { tenantGlance } from '../pipeline/glance.ts';
import { startersFrom } from '../tools/next-steps.ts';
import type { Role } from '../tenancy/roles.ts';

/** The cron task that deletes inbox items done long ago. */
export const PRUNE_TURNS_TASK = 'prune_turns';

/** A done item's replies as stored (anything else reads as none). */
const storedReplies = z.array(replySchema).catch([]);

/** What `submit` did with a message. */
export type Submitted = { status: 'queued'; itemId: string } | { status: 'duplicate' };

/** The core's adapter contract (docs/style.md §2): start a turn, confirm/cancel, and the work behind them. */
export type Conversations = ReturnType<typeof createConversations>;

export function createConversations(
  deps: ConversationDeps & {
    /** Starts a session's drain in this process at once after a submit (the turn runner's `wake`); without, the runner's NOTIFY or poll finds it. */
    wake?: (sessionId: string) => void;
    /** Notes attached files in the session with the message (core/files); without, `files` are refused. */
    files?: Pick<Files, 'attach'>;
  },
) {
  const log = deps.log.child({ component: 'conversations' });

  /**
   * Handles one message now, like the drain (`handleMessage`), but never throws for user-facing problems (an abort
   * through `opts.signal` does): for deterministic commands answered directly (Slack's `/render
   * <command>`) and for tests.
   */
  async function respond(turn: TurnScope, text: string, opts: TurnOptions = {}): Promise<Reply[]> {
    try {
      return await handleMessage(deps, turn, text, opts);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      log.error({ err, sessionId: turn.sessionId }, 'turn failed');
      return [{ blocks: [{ type: 'text', text: publicMessage(err) }] }];
    }
  }

  /**
   * Queues a message durably into its session's inbox and wakes a lease holder. `eventId` (the
   * platform's event/activity id) is recorded in the same statement, so a redelivered event is
   * recognised as handled — also after its turn ran. `files` (ids of uploads of the turn's tenant)
   * are noted in the session in the same transaction; one that is not the tenant's, unknown or
   * expired throws UserInputError 'file_not_found' and nothing is queued.
   */
  async function submit(input: {
    turn: TurnScope;
    text: string;
    delivery: Delivery;
    eventId?: string;
    files?: readonly string[];
  }): Promise<Submitted> {
    const item = {
      task: turnTask,
      payload: { turn: input.turn, text: input.text, delivery: input.delivery } satisfies TurnJob,
    };
    const event = input.eventId ? { platform: input.turn.platform, eventId: input.eventId } : undefined;
    const fileIds = input.files ?? [];
    let itemId: string | undefined;
    if (fileIds.length === 0) {
      itemId = await submitToSession(deps.orm.em.fork(), input.turn, item, event);
    } else {
      const files = deps.files;
      if (!files) throw new UserInputError('files_unsupported', 'Files cannot be attached here.');
      itemId = await deps.orm.em.fork().transactional(async (tx) => {
        await files.attach(tx, input.turn, fileIds);
        return submitToSession(tx, input.turn, item, event);
      });
    }
    if (!itemId) return { status: 'duplicate' };
    deps.wake?.(input.turn.sessionId);
    return { status: 'queued', itemId };
  }

  /**
   * The replies of a submitted item once it is done (whichever process ran it) and where its
   * messages begin (`fromSeq`, its stored user message; none for commands), or undefined when
   * `signal` aborts first. Woken by this process's drain, by NOTIFY from others, and polls every
   * `pollMs` in case a notification was missed.
   */
  async function result(
    itemId: string,
    opts: { signal?: AbortSignal; pollMs?: number } = {},
  ): Promise<{ replies: Reply[]; fromSeq?: string } | undefined> {
    const read = async () => {
      const r = await itemResult(deps.orm.em.fork(), itemId);
      if (!r?.done) return undefined;
      return { replies: storedReplies.parse(r.result), ...(r.progress.fromSeq ? { fromSeq: r.progress.fromSeq } : {}) };
    };
    for (;;) {
      if (opts.signal?.aborted) return undefined;
      const done = await read();
      if (done) return done;
      await deps.finished.wait(itemId, opts.pollMs ?? 2000, opts.signal);
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

  /**
   * Stops what the session is answering (a Stop button, the platform's stop, the word `stop`):
   * handled on arrival, not queued behind the turn it stops; the stopped turn says "Stopped by
   * <name>" where its answer would have gone. Refused with one sentence for a viewer who did not ask.
   */
  async function stop(actor: Actor, sessionId: string): Promise<StopOutcome> {
    return stopSession(deps.orm.em.fork(), actor, sessionId);
  }

  /** A platform stopped the stream of items `itemIds` on the person's behalf (Teams' Stop on a streaming message): they stop too. */
  async function streamStopped(at: { tenantId: string; sessionId: string; itemIds: readonly string[] }): Promise<void> {
    await stopStreamed(deps.orm.em.fork(), at);
  }

  /** The suggestions a new conversation starts with, from where the tenant stands (one query; docs/design.md §12). */
  async function starters(tenantId: string, role: Role): Promise<string[]> {
    return startersFrom(await tenantGlance(deps.orm.em.fork(), tenantId, deps.now()), role);
  }

  /**
   * A person's 👍/👎 (and optional reason) on an agent answer of their own tenant (docs/design.md
   * §12): stored once per person and answer, a later click replacing an earlier one (`givenAt`, the
   * platform's click time, orders a click replayed after an outage: 'superseded'). 'not_found' for
   * an answer id that is malformed, unknown or another tenant's (indistinguishable), and nothing changes.
   */
  async function feedback(
    actor: Actor,
    given: { answerId: string; rating: FeedbackRating; reason?: string | undefined; givenAt?: Date | undefined },
  ): Promise<FeedbackOutcome> {
    if (!z.uuid().safeParse(given.answerId).success) return 'not_found';
    const outcome = await recordFeedback(deps.orm.em.fork(), {
      tenantId: actor.tenantId,
      platform: actor.platform,
      userId: actor.userId,
      ...given,
    });
    log.info({ answerId: given.answerId, rating: given.rating, platform: actor.platform, outcome }, 'answer feedback');
    return outcome;
  }

  /** graphile-worker cron tasks of the conversation side. */
  const tasks: Record<string, Task> = {
    [PRUNE_TURNS_TASK]: async () => {
      const n = await pruneDoneItems(deps.orm.em.fork(), 600);
      if (n) log.debug({ pruned: n }, 'deleted answered inbox items');
      // Platforms retry for minutes (Slack up to about 5, the Bot Framework less); a day is ample.
      const events = await pruneHandledRequests(deps.orm.em.fork(), 86_400);
      if (events) log.debug({ pruned: events }, 'forgot handled platform requests');
      const keys = await pruneKeys(deps.orm.em.fork());
      if (keys) log.debug({ pruned: keys }, 'forgot expired idempotency keys');
    },
    expire_actions: async () => {
      const n = await expireActions(deps.orm.em.fork());
      if (n) log.info({ expired: n }, 'expired pending actions');
    },
  };

  /** Idempotency keys of requests that start turns (core/idempotency.ts): a retry gets the first request's answer. */
  const idempotency = createIdempotency({
    em: () => deps.orm.em.fork(),
    result,
    itemExists: async (itemId) => (await itemResult(deps.orm.em.fork(), itemId)) !== undefined,
  });

  return {
    respond,
    submit,
    result,
    confirm,
    cancel,
    stop,
    streamStopped,
    starters,
    feedback,
    tasks,
    idempotency,
  };
}
