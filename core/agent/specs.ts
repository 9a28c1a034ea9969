import type { ToolSpec } from '../llm/client.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import { toStrictJsonSchema } from '../tools/schema.ts';

const cache = new WeakMap<ToolRegistry, ToolSpec[]>();

/** The registry's tools as strict JSON-schema tool specs, computed once per registry. */
export function toolSpecs(tools: ToolRegistry): ToolSpec[] {
  let specs = cache.get(tools);
  if (!specs) {
    specs = [...tools.values()].map((t) => ({ name: t.name, description: t.description, parameters: toStrictJsonSchema(t.parameters) }));
    cache.set(tools, specs);
  }
  return specs;
}
