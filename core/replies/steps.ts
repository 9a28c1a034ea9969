import { z } from 'zod';

/** A step's state: `running` while its tool works, then `done` or `failed`. */
const stepStateSchema = z.enum(['running', 'done', 'failed']);

/**
 * One step of a turn as people see it (docs/design.md §12 Steps): a tool call with a plain title
 * made by code from the tool and its arguments, its state and one line of result. `id` is the
 * tool call's id, unique within the turn. Titles may contain tenant-written text (a category, a
 * product name): each platform escapes them for its own markup.
 */
export const turnStepSchema = z.object({
  id: z.string().min(1).max(200),
  title: z.string().max(200),
  state: stepStateSchema,
  result: z.string().max(200).optional(),
});
export type TurnStep = z.infer<typeof turnStepSchema>;

/** Longest title and result line, in characters: tenant text is cut with an ellipsis, so a step stays one line on every platform. */
const STEP_TEXT_MAX = 120;

/** `text` on one line and at most `max` characters (newlines and tabs become spaces; cut with `…`). */
export function stepLine(text: string, max = STEP_TEXT_MAX): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}

/** A short quoted piece of tenant text for a title (`"Kugellager"`), cut to `max` characters. */
export function quoted(text: string, max = 60): string {
  return `“${stepLine(text, max)}”`;
}

/** The plain-text line of a step, as a terminal or a fallback status shows it: `✓ Searching … — 3,074 found`. */
export function stepText(step: TurnStep): string {
  const mark = step.state === 'running' ? '…' : step.state === 'done' ? '✓' : '✗';
  return `${mark} ${step.title}${step.result ? ` — ${step.result}` : ''}`;
}
