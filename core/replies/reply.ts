import { z } from 'zod';
import { turnStepSchema } from './steps.ts';

/** Markdown subset: **bold**, _italic_, `code`, lists, links. */
const textBlockSchema = z.object({ type: z.literal('text'), text: z.string() });

const factsBlockSchema = z.object({
  type: z.literal('facts'),
  title: z.string().optional(),
  facts: z.array(z.object({ label: z.string(), value: z.string() })),
});

const tableBlockSchema = z.object({
  type: z.literal('table'),
  title: z.string().optional(),
  columns: z.array(z.string()),
  rows: z.array(z.array(z.string())),
  /** Total matching rows, which may exceed rows.length. */
  total: z.number().int().nonnegative(),
  truncated: z.boolean(),
});

const imageBlockSchema = z.object({ type: z.literal('image'), url: z.string(), alt: z.string() });

/**
 * A file for the reader (an order's results export): `url` is a signed download link that
 * expires at `expiresAt`. Adapters that can attach files upload it from that link's content
 * (core/exports/links.ts) and otherwise show the link.
 */
const fileBlockSchema = z.object({
  type: z.literal('file'),
  name: z.string(),
  /** One line on what the file holds, e.g. "1,200 items: PIM id, name, material, status, result URL, error". */
  description: z.string(),
  url: z.string(),
  expiresAt: z.string(),
});

const progressBlockSchema = z.object({
  type: z.literal('progress'),
  orderNumber: z.string(),
  status: z.string(),
  total: z.number().int().nonnegative(),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  /** 0..1 share of jobs finished (completed or failed). */
  ratio: z.number().min(0).max(1),
});

/** One step of a write plan: what happens, every argument spelled out, and optionally a few example rows. */
export const planStepSchema = z.object({
  title: z.string(),
  details: z.array(z.string()),
  /** E.g. 5 of the 60,000 products an order will hold; the count is in `details`. */
  sample: z
    .object({ columns: z.array(z.string()), rows: z.array(z.array(z.string())), total: z.number().int().nonnegative() })
    .optional(),
});
export type PlanStepView = z.infer<typeof planStepSchema>;

/**
 * A write plan awaiting a click; every step is spelled out with its exact arguments. A one-step
 * plan is titled by its step: renderers then show that step's details under the title instead
 * of repeating it as "1." (see `soleStep`).
 */
const confirmBlockSchema = z.object({
  type: z.literal('confirm'),
  actionId: z.uuid(),
  title: z.string(),
  steps: z.array(planStepSchema),
  expiresAt: z.string(),
  status: z.enum(['pending', 'executing', 'done', 'failed', 'cancelled', 'expired']),
  /** Shown once decided: who decided, when, and the outcome. */
  outcome: z.string().optional(),
});

const replyBlockSchema = z.discriminatedUnion('type', [
  textBlockSchema,
  factsBlockSchema,
  tableBlockSchema,
  imageBlockSchema,
  fileBlockSchema,
  progressBlockSchema,
  confirmBlockSchema,
]);
export type ReplyBlock = z.infer<typeof replyBlockSchema>;
export type TableBlock = z.infer<typeof tableBlockSchema>;
export type ConfirmBlock = z.infer<typeof confirmBlockSchema>;
export type FileBlock = z.infer<typeof fileBlockSchema>;

/** Follow-ups offered under an answer (docs/design.md §12): at most this many. */
export const MAX_SUGGESTIONS = 3;

/**
 * A suggested next message: plain text that a click sends as the person's message. Built by code
 * from what the turn did (core/agent/suggestions.ts), but it may quote tenant names: data, escaped
 * by every renderer.
 */
export const suggestionSchema = z.string().min(1).max(200);

/**
 * A record an agent answer used (docs/design.md §12), taken from its tools' typed effects, never
 * from the model's text: an order (with its signed results page when links can be served), or
 * the count behind a number ("3,074 products in Kugellager").
 */
const sourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('order'), number: z.string(), url: z.string().optional() }),
  z.object({ kind: z.literal('count'), count: z.number().int().nonnegative(), what: z.string() }),
]);
export type Source = z.infer<typeof sourceSchema>;

/**
 * Marks a reply as an agent answer (docs/design.md §12): AI-generated, with feedback buttons that
 * carry `id` (its assistant message) and the records it used. Command output and notices have none.
 */
const answerMetaSchema = z.object({ id: z.uuid(), sources: z.array(sourceSchema) });
export type AnswerMeta = z.infer<typeof answerMetaSchema>;

/** A platform-neutral reply (docs/design.md §5): rendered by adapters to Adaptive Cards, Block Kit, HTML or text. */
export const replySchema = z.object({
  blocks: z.array(replyBlockSchema),
  /** Marks an agent answer: its id (feedback) and the records it used (sources). */
  answer: answerMetaSchema.optional(),
  /** The tool calls of the agent turn that made it (docs/design.md §12), stored with it so a reloaded conversation shows them. */
  steps: z.array(turnStepSchema).optional(),
  /** Next steps offered under the reply; each platform renders them in its own function, apart from the blocks. */
  suggestions: z.array(suggestionSchema).max(MAX_SUGGESTIONS).optional(),
});
export type Reply = z.infer<typeof replySchema>;

/** The only step of a confirm card when the card is titled by it (shown without numbering), else undefined. */
export function soleStep(block: ConfirmBlock): PlanStepView | undefined {
  const [first, ...rest] = block.steps;
  return first && rest.length === 0 && first.title === block.title ? first : undefined;
}

/** A reply that is just text. */
export function textReply(text: string): Reply {
  return { blocks: [{ type: 'text', text }] };
}

/** The plain text of a reply's text blocks, used for history and fallbacks. */
export function replyText(reply: Reply): string {
  return reply.blocks
    .filter((b) => b.type === 'text')
    .map((b) => b.text)
    .join('\n\n');
}
