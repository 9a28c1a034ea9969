import type { ToolSpec } from '../llm/client.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import { toStrictJsonSchema } from '../tools/schema.ts';
import type { Tool } from '../tools/tool.ts';

const cache = new WeakMap<Tool, ToolSpec>();

/** The registry's tools as strict JSON-schema tool specs, each computed once per tool. */
export function toolSpecs(tools: ToolRegistry): ToolSpec[] {
  return [...tools.values()].map((t) => {
    let spec = cache.get(t);
    if (!spec) {
      spec = { name: t.name, description: t.description, parameters: toStrictJsonSchema(t.parameters) };
      cache.set(t, spec);
    }
    return spec;
  });
}
