import { checkMaterialsTool } from './check_materials.ts';
import { createOrderTool } from './create_order.ts';
import { dispatchRendersTool } from './dispatch_renders.ts';
import { getOrderStatusTool } from './get_order_status.ts';
import { getRenderStatsTool } from './get_render_stats.ts';
import { listOrdersTool } from './list_orders.ts';
import { queryDatabaseTool } from './query_database.ts';
import { searchProductsTool } from './search_products.ts';
import { setMaterialOverrideTool } from './set_material_override.ts';
import { setRenderOverridesTool } from './set_render_overrides.ts';
import { toolRegistry } from './registry.ts';
import type { Tool } from './tool.ts';

/** The ten agent tools (five reads plus query_database, four writes behind confirmation). */
export const allTools: readonly Tool[] = [
  listOrdersTool, searchProductsTool, getOrderStatusTool, getRenderStatsTool, checkMaterialsTool, queryDatabaseTool,
  createOrderTool, dispatchRendersTool, setMaterialOverrideTool, setRenderOverridesTool,
] as readonly Tool[];

/** The default registry of all tools. */
export const defaultTools = toolRegistry(allTools);
