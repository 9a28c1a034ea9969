import type { z } from 'zod';
import type { TurnScope } from '../turn-scope.ts';
import type { EntityManager } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import type { ReplyBlock } from '../replies/reply.ts';
import type { RenderLinks } from '../renders/signing.ts';
import type { QueryPool } from '../db/query-pool.ts';
import type { SessionSubject } from '../history/subject.ts';
import { hasRole } from '../tenancy/roles.ts';

/**
 * What a write tool's `prepare` froze: a product selection (core/pipeline/selections.ts),
 * attached to the pending action and handed back to `run` — never shown to the model or on cards.
 */
export type Frozen = { selectionId: string };

/** What a tool may use. `em` is a fork bound to the current transaction (for writes). */
export type ToolDeps = {
  turn: TurnScope;
  em: EntityManager;
  log: Logger;
  now: () => Date;
  /** Signs links to rendered files; absent where no links can be served (then tools omit links). */
  renderLinks?: RenderLinks;
  /** The small pool model-written SQL runs on (query_database); absent where that tool cannot run. */
  queryPool?: QueryPool;
  /** In a confirmed write's `run`: exactly what its `prepare` froze (absent when it froze nothing). */
  frozen?: Frozen;
};

/** What a call did that the core acts on (never shown to the model), typed instead of read out of `data`. */
export type ToolEffects = {
  /** Orders the call wrote: those now rendering report to the conversation where their plan was asked (core/notices). */
  orders?: { id: string; number: string }[];
  /** What the conversation is about from now on (the session subject of later turns). */
  subject?: SessionSubject;
  /** Products a search found (all matches, not one page): the next step may be to render them. */
  found?: { products: number };
  /** An order the call read, as it stands: the next step may be its results or a retry of its failures. */
  order?: { number: string; status: string; failedJobs: number };
  /** The records the call read, cited under the answer (docs/design.md §12); never taken from the model's text. */
  cites?: ToolCites;
};

/** Orders a call read (cited with their results pages) and the counts it reported ("3,074 products in Kugellager"). */
export type ToolCites = { orders?: { id: string; number: string }[]; counts?: { count: number; what: string }[] };

/** A tool's result: `data` goes back to the model as JSON; `blocks` are shown to the user; `effects` are for the core. */
export type ToolResult = {
  data: unknown;
  /** The step's one line of result people see (docs/design.md §12), e.g. "3,074 found"; made by code from what the call found. */
  outcome?: string;
  effects?: ToolEffects;
  blocks?: ReplyBlock[];
  /** Short human summary for audit and follow-ups, e.g. "Created SA-2026-00161 with 12 jobs". */
  summary?: string;
};

/** A few example rows of what a step affects (e.g. 5 of `total` 60,000 products), shown as a small table. */
type StepSample = { columns: string[]; rows: string[][]; total: number };

/** A step of a confirmation preview: what will happen, with every argument spelled out. */
export type PlanStep = { title: string; details: string[]; sample?: StepSample };

/** A preview step plus what `prepare` froze for `run` (kept out of the stored step). */
export type Prepared = PlanStep & { frozen?: Frozen };

/** A write call of one model response that was prepared, as a folding hook sees it. */
export type PlannedWrite = { toolCallId: string; tool: WriteTool; args: Record<string, unknown>; step: PlanStep };

/**
 * What a write call whose preparation failed becomes instead: calls already planned in the same
 * response get new arguments (and are prepared again), and `result` goes back to the model.
 */
type Fold = { into: { toolCallId: string; args: Record<string, unknown> }[]; result: string };

type Base<S extends z.ZodObject> = {
  name: string;
  description: string;
  parameters: S;
  /**
   * Whether the model is offered this tool in a turn of `turn`'s caller. Default: read tools
   * always, write tools only for operators and admins (a viewer's model never sees them).
   */
  isEnabled?(turn: TurnScope): boolean;
  /**
   * The title of the step people see while a call runs (docs/design.md §12), made from its
   * arguments by code, never by the model, e.g. "Searching Kugellager products…". Tenant text in
   * it is plain data (each platform escapes it). Default: see `stepTitleOf`.
   */
  stepTitle?(args: z.infer<S>): string;
};

/** A read tool runs as soon as the model calls it. */
type ReadTool<S extends z.ZodObject = z.ZodObject> = Base<S> & {
  kind: 'read';
  run(ctx: ToolDeps, args: z.infer<S>): Promise<ToolResult>;
};

/**
 * A write tool never runs from the model (see `needsApproval`): `prepare` validates and resolves
 * names into a preview (throwing a UserInputError for unknown ids or names), and `run` executes
 * it inside the confirmation's transaction after an authorized click.
 */
export type WriteTool<S extends z.ZodObject = z.ZodObject> = Base<S> & {
  kind: 'write';
  prepare(ctx: ToolDeps, args: z.infer<S>): Promise<Prepared>;
  run(ctx: ToolDeps, args: z.infer<S>): Promise<ToolResult>;
  /**
   * Plan folding: called when `prepare` threw `error`, with the calls of the same response
   * planned so far (tools with this hook are prepared after the others). Returns how the call
   * folds into them, or undefined to report the error to the model.
   */
  fold?(ctx: ToolDeps, args: z.infer<S>, error: unknown, planned: readonly PlannedWrite[]): Fold | undefined;
};

export type Tool<S extends z.ZodObject = z.ZodObject> = ReadTool<S> | WriteTool<S>;

/** Keeps the inferred argument type when declaring a tool. */
export function defineTool<S extends z.ZodObject>(tool: Tool<S>): Tool<S> {
  return tool;
}

/** A call's step title: the tool's `stepTitle` hook, or "Looking up orders…"-style words from its name ("Preparing …" for a write). */
export function stepTitleOf(tool: Tool, args: Record<string, unknown>): string {
  if (tool.stepTitle) return tool.stepTitle(args);
  const words = tool.name.replaceAll('_', ' ');
  return tool.kind === 'write' ? `Preparing ${words}…` : `Running ${words}…`;
}

/** The `isEnabled` hook, or its default: reads for everyone, writes from operators up. */
export function isToolEnabled(tool: Tool, turn: TurnScope): boolean {
  if (tool.isEnabled) return tool.isEnabled(turn);
  return tool.kind === 'read' || hasRole(turn.role, 'operator');
}

/**
 * Whether a call of `tool` becomes a confirmation instead of running. Every write tool, and only
 * they (docs/design.md §6: write tools never run from the model) — so it is derived from `kind`, not a
 * per-tool flag that could switch a confirmation off. The agent loop asks this, never the kind.
 */
export function needsApproval(tool: Tool): tool is WriteTool {
  return tool.kind === 'write';
}
