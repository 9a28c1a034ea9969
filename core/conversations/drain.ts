import { abandonTurn } from '../agent/abandon.ts';
import { whenStored } from '../availability.ts';
import { runAgentTurn, type TurnOptions } from '../agent/turn.ts';
import { parseCommand } from '../commands/grammar.ts';
import {
  finishItems,
  pendingItems,
  readProgress,
  saveProgress,
  startItems,
  type ClaimedItems,
  type InboxRow,
  type ItemProgress,
} from '../queue/session-inbox.ts';
import type { Lease, SessionDrain } from '../queue/turn-runner.ts';
import { publicMessage, RenderBotError } from '../errors.ts';
import { textReply, type Reply } from '../replies/reply.ts';
import { replySeconds, turnSeconds } from '../metrics.ts';
import { handleMessage } from './handle-message.ts';
import type { ConversationDeps } from './deps.ts';
import { turnJobSchema, turnTask, type TurnJob } from './turn-job.ts';
import type { Delivery } from '../replies/delivery.ts';
import { followUpJobSchema, followUpTask } from '../history/followup.ts';
import { historyNoteTask, writeHistoryNote } from '../history/note.ts';
import { stoppedBy } from '../queue/turn-stops.ts';
import { stoppedText } from './stop-texts.ts';

/** Starts of one inbox item before the person is told to ask again (docs/design.md §4). */
export const MAX_TURN_ATTEMPTS = 3;
export const GIVE_UP_TEXT = 'I could not finish this — please ask again.';
const FAILED_TEXT = 'Something went wrong while answering this; it was logged. Please ask again.';

/**
 * Runs a leased session's inbox (docs/design.md §4), one item — or one run of merged messages — at a
 * time, in order: a person's message (a command, a typed confirm/cancel or an agent turn: `handleMessage`), a confirmed plan's
 * follow-up, a note for the history. Each item is started (attempts counted), records how far
 * it got (where its messages begin, the streamed message, what was delivered) and is marked done
 * with its replies. A started item found again was cut off (crash, kill, lost lease): it resumes
 * from what was stored and its delivery edits what was already posted; after
 * MAX_TURN_ATTEMPTS starts the person is told to ask again. An abort (shutdown) leaves the item
 * to the next lease holder.
 */
export function createSessionDrain(deps: ConversationDeps): SessionDrain {
  const log = deps.log.child({ component: 'drain' });
  const em = () => deps.orm.em.fork();

  return async (sessionId, lease, pending) => {
    const { signal } = lease;
    while (!signal.aborted) {
      // When the database goes away, the item is tried again once it is back, from what was stored (a cut-off item resumes).
      const released = await whenStored(deps.availability, signal, () => {
        // The items the claim read serve the first try only; a retry or the next item reads them again.
        const read = pending;
        pending = undefined;
        return next(sessionId, lease, read);
      });
      if (released !== undefined) return released;
    }
    return false;
  };

  /** Runs the next item (or merged run); resolves whether the lease was given up, or undefined to go on with the next. */
  async function next(sessionId: string, lease: Lease, read?: ClaimedItems): Promise<boolean | undefined> {
    const { signal } = lease;
    const fence = { sessionId, owner: lease.owner };
    const items = read?.items ?? (await pendingItems(em(), sessionId));
    const group = nextGroup(items);
    if (group.length === 0) return false;
    const ids = group.map((i) => i.id);
    // The claim started the session's sole item already (claimSession).
    const attempts =
      ids.length === 1 && read?.startedId === ids[0] ? group[0]!.attempts : await startItems(em(), ids, lease.owner);
    const first = group[0]!;
    if (first.task === historyNoteTask) {
      // Written and marked done together: a note is never written twice.
      const { finished, released } = await em().transactional(async (tx) => {
        const outcome = await finishItems(tx, ids, [], fence);
        if (outcome.finished) await writeHistoryNote(tx, first.payload);
        return outcome;
      });
      deps.finished.emit(ids);
      return released || !finished ? released : undefined;
    }
    let replies: Reply[];
    let outcome = 'answered';
    const timer = turnSeconds.startTimer();
    // Made before the items are read again or run: a stop signalled from now on reaches this turn.
    const stop = lease.stopSignal?.(ids) ?? signal;
    const stoppedAlready = group.map((i) => i.stoppedBy).find((by) => by !== null) ?? undefined;
    try {
      if (attempts > MAX_TURN_ATTEMPTS) outcome = 'gave_up';
      if (stoppedAlready !== undefined) {
        outcome = 'stopped';
        replies = await settle(sessionId, group, (job) => stoppedText(stoppedAlready, job));
      } else {
        replies =
          attempts > MAX_TURN_ATTEMPTS
            ? await settle(sessionId, group, GIVE_UP_TEXT)
            : await run(sessionId, group, attempts, lease, stop);
      }
    } catch (err) {
      if (signal.aborted) return false;
      if (stop.aborted) {
        // Stopped (docs/design.md §12): the open calls are closed and the stop is said where the answer would have gone.
        outcome = 'stopped';
        const by = (await stoppedBy(em(), ids)) ?? '';
        replies = await settle(sessionId, group, (job) => stoppedText(by, job));
      } else {
        // Not the turn's fault: the drain waits for the database and resumes the item.
        if (deps.availability?.report(err)) throw err;
        outcome = 'failed';
        log.error({ err, sessionId, task: first.task, items: ids }, 'queued turn failed');
        const text = err instanceof RenderBotError && err.fault !== 'internal' ? publicMessage(err) : FAILED_TEXT;
        replies = await settle(sessionId, group, text).catch((settleErr: unknown) => {
          log.warn({ err: settleErr, sessionId }, 'could not tell the person that their message failed');
          return [];
        });
      }
    }
    // The replies are out: marking them done waits out a database outage rather than answer twice.
    const { finished, released } = await whenStored(deps.availability, signal, () =>
      finishItems(em(), ids, replies, fence),
    );
    if (!finished) {
      log.warn({ sessionId, items: ids }, 'this process no longer holds the session; leaving the items to the holder');
      return false;
    }
    timer({ outcome });
    replySeconds.observe(Math.max(0, Date.now() - group.at(-1)!.createdMs) / 1000);
    deps.finished.emit(ids);
    return released ? true : undefined;
  }

  async function run(
    sessionId: string,
    group: InboxRow[],
    attempts: number,
    lease: Lease,
    stop: AbortSignal,
  ): Promise<Reply[]> {
    const ids = group.map((i) => i.id);
    const progress = group.at(-1)!.progress;
    const resume = { signal: stop, inboxItems: ids, ...(progress.fromSeq ? { resumeFrom: progress.fromSeq } : {}) };
    // Stream a first try only: a resumed one edits what was streamed (or posted) before.
    const fresh = attempts === 1 && !progress.stream && !progress.fromSeq;
    if (group[0]!.task === followUpTask) {
      const job = followUpJobSchema.parse(group[0]!.payload);
      return produceAndDeliver(
        job.delivery,
        sessionId,
        ids,
        progress,
        lease,
        { streaming: fresh, indexed: false },
        async (o) => [
          await runAgentTurn(
            deps,
            job.turn,
            { kind: 'followup', fallback: job.fallback, done: job.done ?? [] },
            { ...resume, delivery: job.delivery, ...o },
          ),
        ],
      );
    }
    if (group[0]!.task !== turnTask) throw new Error(`no handler for inbox task ${group[0]!.task}`);
    const jobs = group.map((i) => turnJobSchema.parse(i.payload));
    const last = jobs.at(-1)!;
    if (!progress.fromSeq) await removeMergedPlaceholders(sessionId, jobs.slice(0, -1));
    const text = jobs.map((j) => j.text).join('\n\n');
    return produceAndDeliver(
      last.delivery,
      sessionId,
      ids,
      progress,
      lease,
      { streaming: fresh && !parseCommand(text), indexed: true },
      (o) => handleMessage(deps, last.turn, text, { ...resume, delivery: last.delivery, ...o }),
    );
  }

  /**
   * Produces the replies (streaming the model's text where the platform can) and delivers them
   * in order: the last one replaces the streamed message; replies an earlier attempt delivered
   * are not sent again. `indexed` replies are a turn's (the first replaces its placeholder).
   */
  async function produceAndDeliver(
    delivery: Delivery,
    sessionId: string,
    ids: string[],
    progress: ItemProgress,
    lease: Lease,
    how: { streaming: boolean; indexed: boolean },
    produce: (o: Pick<TurnOptions, 'onText' | 'onStep'>) => Promise<Reply[]>,
  ): Promise<Reply[]> {
    const deliverer = deps.deliverers.get(delivery.platform);
    if (!deliverer) throw new Error(`no deliverer for ${delivery.platform}`);
    const onMessage = (stream: Record<string, unknown>) =>
      void saveProgress(em(), ids, { stream }).catch(
        (err: unknown) =>
          deps.availability?.report(err) || log.warn({ err, sessionId }, 'could not record the streamed message'),
      );
    const stream = how.streaming
      ? deps.streamers?.get(delivery.platform)?.(delivery.target, { sessionId, itemIds: ids, onMessage })
      : undefined;
    let replies: Reply[];
    try {
      replies = await produce(stream ? { onText: stream.push, onStep: stream.step } : {});
    } finally {
      progress = { ...progress, ...(await stream?.end().then((m) => (m ? { stream: m } : {}))) };
    }
    const sent = { ...progress.sent };
    for (const [i, reply] of replies.entries()) {
      if (sent[i] !== undefined) continue;
      // Never deliver for a session this process may no longer hold.
      if (lease.signal.aborted) throw lease.signal.reason;
      const isLast = i === replies.length - 1;
      const message = await deliverer(delivery.target, reply, {
        sessionId,
        ...(how.indexed ? { index: i } : {}),
        ...(isLast && progress.stream ? { replace: progress.stream } : {}),
      });
      sent[i] = message ?? null;
      if (!isLast) await saveProgress(em(), ids, { sent });
    }
    return replies;
  }

  /** Ends an item without an answer: its open tool calls are closed, and the person is told `text` where the answer would have gone. */
  async function settle(
    sessionId: string,
    group: InboxRow[],
    say: string | ((job: SettledJob) => { text: string; history: string }),
  ): Promise<Reply[]> {
    const last = group.at(-1)!;
    const job =
      last.task === followUpTask ? followUpJobSchema.safeParse(last.payload) : turnJobSchema.safeParse(last.payload);
    if (!job.success) return [];
    // How far the attempt got is read again: it may have stored its start or streamed since the item was read.
    const progress = await readProgress(em(), last.id);
    const said =
      typeof say === 'string'
        ? { text: say, history: say }
        : say(
            last.task === followUpTask
              ? { kind: 'followup', fallback: 'fallback' in job.data ? job.data.fallback : '' }
              : { kind: 'message' },
          );
    const reply = textReply(said.text);
    await abandonTurn(em(), job.data.turn, progress.fromSeq, reply, said.history);
    const deliverer = deps.deliverers.get(job.data.delivery.platform);
    await deliverer?.(job.data.delivery.target, reply, {
      sessionId,
      ...(last.task === turnTask ? { index: 0 } : {}),
      ...(progress.stream ? { replace: progress.stream } : {}),
    });
    return [reply];
  }

  /** What a settled item was: a person's message, or a confirmed plan's follow-up (with what the confirmation did). */
  type SettledJob = { kind: 'message' } | { kind: 'followup'; fallback: string };

  /** Messages answered together with a later one only have their "working on it" indicator removed. */
  async function removeMergedPlaceholders(sessionId: string, merged: TurnJob[]): Promise<void> {
    for (const job of merged) {
      await deps.deliverers
        .get(job.delivery.platform)?.(job.delivery.target, { blocks: [] }, { sessionId, index: 0, merged: true })
        .catch((err: unknown) => log.warn({ err, sessionId }, 'could not settle a merged message'));
    }
  }
}

/**
 * The next unit of work: the items an interrupted attempt had started (they resume together),
 * else consecutive plain messages of one person (same user and role) answered as one turn
 * (docs/design.md §4), else the first item alone (commands, other people's messages, follow-ups, notes).
 */
export function nextGroup(items: InboxRow[]): InboxRow[] {
  const first = items[0];
  if (!first) return [];
  if (first.started) {
    const started = items.findIndex((i) => !i.started);
    return started < 0 ? items : items.slice(0, started);
  }
  if (first.task !== turnTask) return [first];
  const plain = (i: InboxRow) => {
    // A stopped message is settled alone, never merged into a turn that runs.
    const job = i.task === turnTask && i.stoppedBy === null ? turnJobSchema.safeParse(i.payload) : undefined;
    return job?.success && !parseCommand(job.data.text) ? job.data : undefined;
  };
  const head = plain(first);
  if (!head) return [first];
  const group = [first];
  for (const item of items.slice(1)) {
    const job = plain(item);
    if (!job || item.started || job.turn.userId !== head.turn.userId || job.turn.role !== head.turn.role) break;
    group.push(item);
  }
  return group;
}
