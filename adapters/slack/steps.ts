import type { webApi } from '@slack/bolt';
import type { TurnStep } from '../../core/replies/steps.ts';
import { escapeMrkdwn } from './mrkdwn.ts';

/** A `task_update` chunk of a Slack message stream (chat.startStream / appendStream). */
export type TaskUpdateChunk = {
  type: 'task_update';
  id: string;
  title: string;
  status: 'in_progress' | 'complete' | 'error';
  output?: string;
};

const STATUS = { running: 'in_progress', done: 'complete', failed: 'error' } as const;
/** Slack shows task output up to 256 characters; step lines are shorter already (STEP_TEXT_MAX). */
const TASK_TEXT_MAX = 256;

/**
 * A step as a `task_update` chunk (shown in the stream's plan with `task_display_mode: "plan"`).
 * Title and output carry tenant text: escaped like all Slack text (`&`, `<`, `>`), so a product
 * name can never form `<!channel>` or a link.
 */
export function taskChunk(step: TurnStep): TaskUpdateChunk {
  return {
    type: 'task_update',
    id: step.id,
    title: escapeMrkdwn(step.title).slice(0, TASK_TEXT_MAX),
    status: STATUS[step.state],
    ...(step.result ? { output: escapeMrkdwn(step.result).slice(0, TASK_TEXT_MAX) } : {}),
  };
}

/** Slack's `loading_messages` of assistant.threads.setStatus hold at most 10 entries. */
const LOADING_MESSAGES_MAX = 10;

/** The thread status while steps run: the running steps' titles (the newest last), else the last step's line. */
export function loadingMessages(steps: readonly TurnStep[]): string[] {
  const running = steps.filter((s) => s.state === 'running');
  const shown = (running.length ? running : steps.slice(-1)).map((s) => escapeMrkdwn(s.title));
  return shown.slice(-LOADING_MESSAGES_MAX);
}

const MARK = { running: '◌', done: '✓', failed: '✗' } as const;

/** The steps as mrkdwn lines for an edited placeholder: `✓ Searching … — 3 found`, escaped. */
export function stepsMrkdwn(steps: readonly TurnStep[]): string {
  // A context element holds 3,000 characters: the newest steps, with a count of the earlier ones.
  const earlier = steps.length > STEP_LINES_MAX ? [`… ${steps.length - STEP_LINES_MAX} earlier steps`] : [];
  return [
    ...earlier,
    ...steps
      .slice(-STEP_LINES_MAX)
      .map((s) => `${MARK[s.state]} ${escapeMrkdwn(s.title)}${s.result ? ` — _${escapeMrkdwn(s.result)}_` : ''}`),
  ].join('\n');
}

const STEP_LINES_MAX = 10;

/**
 * Whether Slack refused a streaming call's chunks (or the method) rather than failing it for
 * another reason: the stream then falls back to the thread status, then to the placeholder.
 */
export function refusedStreaming(err: unknown): boolean {
  const code = (err as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof code === 'string' && REFUSALS.has(code);
}

const REFUSALS = new Set([
  'invalid_chunks',
  'invalid_arguments',
  'unknown_method',
  'feature_not_enabled',
  'not_allowed_token_type',
  'method_deprecated',
]);

/** The client's chat stream helper, typed as this adapter uses it. */
export type NativeStream = ReturnType<webApi.WebClient['chatStream']>;
