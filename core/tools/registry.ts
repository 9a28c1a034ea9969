import type { TurnScope } from '../turn-scope.ts';
import { isToolEnabled, type Tool } from './tool.ts';

/** Tools by name. */
export type ToolRegistry = ReadonlyMap<string, Tool>;

/** Builds a registry, refusing duplicate names. */
export function toolRegistry(tools: readonly Tool[]): ToolRegistry {
  const map = new Map<string, Tool>();
  for (const tool of tools) {
    if (map.has(tool.name)) throw new Error(`duplicate tool ${tool.name}`);
    map.set(tool.name, tool);
  }
  return map;
}

/** The tools of `tools` offered to the model in a turn of `turn`'s caller (each tool's `isEnabled` hook). */
export function offeredTools(tools: ToolRegistry, turn: TurnScope): ToolRegistry {
  return new Map([...tools].filter(([, tool]) => isToolEnabled(tool, turn)));
}
