import type { z } from 'zod';
import type { TurnContext } from '../context.ts';
import type { EntityManager } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import type { ReplyBlock } from '../replies/reply.ts';
import type { RenderLinks } from '../renders/signing.ts';
import type { QueryPool } from '../sql/pool.ts';

/** What a tool may use. `em` is a fork bound to the current transaction (for writes). */
export type ToolContext = {
  turn: TurnContext;
  em: EntityManager;
  log: Logger;
  now: () => Date;
  /** Signs links to rendered files; absent where no links can be served (then tools omit links). */
  renderLinks?: RenderLinks;
  /** The small pool model-written SQL runs on (query_database); absent where that tool cannot run. */
  queryPool?: QueryPool;
};

/** A tool's answer: `data` goes back to the model as JSON; `blocks` are shown to the user. */
export type ToolResult = {
  data: unknown;
  blocks?: ReplyBlock[];
  /** Short human summary for audit and follow-ups, e.g. "Created SA-2026-00161 with 12 jobs". */
  summary?: string;
};

/** A step of a confirmation preview: what will happen, with every argument spelled out. */
export type PlanStep = { title: string; details: string[] };

type Base<S extends z.ZodObject> = {
  name: string;
  description: string;
  parameters: S;
};

/** A read tool runs as soon as the model calls it. */
export type ReadTool<S extends z.ZodObject = z.ZodObject> = Base<S> & {
  kind: 'read';
  run(ctx: ToolContext, args: z.infer<S>): Promise<ToolResult>;
};

/**
 * A write tool never runs from the model: `prepare` validates and resolves names into a
 * preview (throwing a UserInputError for unknown ids or names), and `run` executes it inside
 * the confirmation's transaction after an authorized click.
 */
export type WriteTool<S extends z.ZodObject = z.ZodObject> = Base<S> & {
  kind: 'write';
  prepare(ctx: ToolContext, args: z.infer<S>): Promise<PlanStep>;
  run(ctx: ToolContext, args: z.infer<S>): Promise<ToolResult>;
};

export type Tool<S extends z.ZodObject = z.ZodObject> = ReadTool<S> | WriteTool<S>;

/** Keeps the inferred argument type when declaring a tool. */
export function defineTool<S extends z.ZodObject>(tool: Tool<S>): Tool<S> {
  return tool;
}
