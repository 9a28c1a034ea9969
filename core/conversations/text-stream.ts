import type { SentMessage, TextStream } from '../replies/delivery.ts';
import type { TurnStep } from '../replies/steps.ts';

export type StreamPacing = {
  /** Showing starts once this much text is there… */
  startChars: number;
  /** …or this long after the first text, whichever comes first — short answers are simply posted. */
  startMs: number;
  /** Later writes at most this often (platform rate limits). */
  intervalMs: number;
};

/** Default pacing: a quick answer is not streamed; a long one shows within a second. */
export const defaultPacing: StreamPacing = { startChars: 160, startMs: 800, intervalMs: 1000 };

/**
 * A `TextStream` over a platform's write operations: collects deltas, calls `write(textSoFar)`
 * one call at a time, paced, and `finish()` after the last write. Steps are written at once
 * (`writeSteps` with the steps changed since its last call, newest state each), on the same
 * one-at-a-time chain as the text, so updates that arrive while a write is under way go out
 * together. A failing write stops the live preview (logged by `onError`); the final reply is
 * delivered in full anyway.
 */
export function pacedTextStream(opts: {
  pacing: StreamPacing;
  write: (text: string) => Promise<void>;
  /** Shows steps; without it steps are not shown live (they are still stored with the reply). */
  writeSteps?: (changed: TurnStep[]) => Promise<void>;
  finish: () => Promise<SentMessage | undefined>;
  onError: (err: unknown) => void;
}): TextStream {
  let text = '';
  let shown = 0;
  let started = false;
  let broken = false;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const pendingSteps = new Map<string, TurnStep>();
  let stepsQueued = false;
  let stepsShown = false;

  const fail = (err: unknown) => {
    broken = true;
    opts.onError(err);
  };

  const flush = () => {
    timer = undefined;
    started = true;
    writing = writing
      .then(async () => {
        if (broken || shown === text.length) return;
        const next = text;
        await opts.write(next);
        shown = next.length;
      })
      .catch(fail);
  };
  const schedule = (ms: number) => {
    if (!timer) timer = setTimeout(flush, ms);
  };

  return {
    push(delta) {
      text += delta;
      if (started) return schedule(opts.pacing.intervalMs);
      if (text.length >= opts.pacing.startChars) {
        if (timer) clearTimeout(timer);
        timer = undefined;
        return flush();
      }
      schedule(opts.pacing.startMs);
    },
    step(step) {
      const writeSteps = opts.writeSteps;
      if (!writeSteps) return;
      pendingSteps.set(step.id, step);
      if (stepsQueued) return;
      stepsQueued = true;
      writing = writing
        .then(async () => {
          stepsQueued = false;
          const changed = [...pendingSteps.values()];
          pendingSteps.clear();
          if (broken || changed.length === 0) return;
          await writeSteps(changed);
          stepsShown = true;
        })
        .catch(fail);
    },
    async end() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      // Text that was never shown is not streamed now: the final reply is about to be posted.
      if (started) flush();
      await writing;
      return started || stepsShown ? opts.finish() : undefined;
    },
  };
}
