/*
 * What people are told about stops (docs/design.md §12); no database here, so adapters may use the texts.
 */

/** What a stop request came to, with the one sentence the person who asked is told (none when the stopped turn says it). */
export type StopOutcome =
  { status: 'stopping' } | { status: 'idle'; text: string } | { status: 'refused'; text: string };

/** Said to the person who stopped a turn, where the platform needs an answer to the stop itself. */
export const STOPPING_TEXT = 'Stopping.';
export const NOTHING_TO_STOP_TEXT = 'Nothing is running in this conversation.';
export const STOP_REFUSED_TEXT = 'Only the person who asked, or an operator, can stop this.';

/**
 * The note a stopped turn ends with where its answer would have gone: "Stopped by <name>.", after
 * what a confirmed plan already did when a follow-up was stopped (a committed write stays and is
 * reported). The model sees it without the name: a display name is data, not the agent's words.
 */
export function stoppedText(
  name: string,
  job: { kind: 'message' } | { kind: 'followup'; fallback: string },
): { text: string; history: string } {
  const before = job.kind === 'followup' && job.fallback ? `${job.fallback}\n\n` : '';
  return {
    text: `${before}${name ? `Stopped by ${name}.` : 'Stopped.'}`,
    history: `${before}(Stopped by a person in this conversation before the answer was finished.)`,
  };
}
