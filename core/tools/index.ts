import { cancelOrderTool } from './cancel_order.ts';
import { checkMaterialsTool } from './check_materials.ts';
import { createOrderTool } from './create_order.ts';
import { dispatchRendersTool } from './dispatch_renders.ts';
import { exportResultsTool } from './export_results.ts';
import { getOrderStatusTool } from './get_order_status.ts';
import { getRenderResultsTool } from './get_render_results.ts';
import { getRenderStatsTool } from './get_render_stats.ts';
import { listOrdersTool } from './list_orders.ts';
import { queryDatabaseTool } from './query_database.ts';
import { readFileSheetTool } from './read_file_sheet.ts';
import { retryFailedRendersTool } from './retry_failed_renders.ts';
import { searchProductsTool } from './search_products.ts';
import { setMaterialOverrideTool } from './set_material_override.ts';
import { setRenderOverridesTool } from './set_render_overrides.ts';
import { toolRegistry } from './registry.ts';
import type { Tool } from './tool.ts';

/** The fifteen agent tools (eight reads plus query_database, six writes behind confirmation). */
export const allTools: readonly Tool[] = [
  listOrdersTool,
  searchProductsTool,
  getOrderStatusTool,
  getRenderResultsTool,
  getRenderStatsTool,
  checkMaterialsTool,
  exportResultsTool,
  readFileSheetTool,
  queryDatabaseTool,
  createOrderTool,
  dispatchRendersTool,
  setMaterialOverrideTool,
  setRenderOverridesTool,
  cancelOrderTool,
  retryFailedRendersTool,
] as readonly Tool[];

/** The default registry of all tools. */
export const defaultTools = toolRegistry(allTools);
