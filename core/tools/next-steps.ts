import { MAX_SUGGESTIONS } from '../replies/reply.ts';
import type { TenantGlance } from '../pipeline/glance.ts';
import { hasRole, type Role } from '../tenancy/roles.ts';
import type { ToolEffects } from './tool.ts';

/*
 * Next steps offered under an answer (docs/design.md §12): built from what the turn's tools did
 * (their typed effects), never asked of the model, so they cost no model call and name only
 * records the tools returned. Each is a message the person could have typed; a click sends it.
 * Write steps (render, retry) are offered only to operators and admins, who can confirm them.
 */

/** A tool call of the turn that ran (a read in the turn, or a confirmed write's step). */
export type DoneCall = { tool: string; effects?: ToolEffects | undefined };

const fmt = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many: string) => `${fmt(n)} ${n === 1 ? one : many}`;

/** Writes after which the order renders: the person will want to watch it. */
const RENDERING_WRITES = new Set([
  'create_order',
  'dispatch_renders',
  'retry_failed_renders',
  'set_material_override',
  'set_render_overrides',
]);

const progressOf = (order: string) => `Show progress of ${order}`;
const resultsOf = (order: string) => `Show the results of ${order}`;
const retryOf = (order: string, failed: number) =>
  `Retry the ${plural(failed, 'failed render', 'failed renders')} of ${order}`;
const renderThese = (products: number) =>
  `Render ${products === 1 ? 'this product' : `these ${fmt(products)} products`}`;
export const LATEST_ORDERS = 'Show my latest orders';
const failedThisWeek = (jobs: number) => `Show the ${plural(jobs, 'render', 'renders')} that failed this week`;

/** What reads naturally after one order as it stands: its failures retried, its results, or its progress. */
function afterOrder(
  order: { number: string; status: string; failedJobs: number },
  role: Role,
  watching: boolean,
): string[] {
  const steps: string[] = [];
  if (order.failedJobs > 0 && hasRole(role, 'operator') && order.status !== 'cancelled')
    steps.push(retryOf(order.number, order.failedJobs));
  if (order.status === 'completed' || order.status === 'failed') steps.push(resultsOf(order.number));
  else if (!watching && (order.status === 'rendering' || order.status === 'submitted'))
    steps.push(progressOf(order.number));
  return steps;
}

/** Up to MAX_SUGGESTIONS next steps after the calls of a turn, the latest call's first. */
export function nextSteps(calls: readonly DoneCall[], role: Role): string[] {
  const steps: string[] = [];
  for (const call of [...calls].reverse()) {
    const e = call.effects;
    if (!e) continue;
    if (RENDERING_WRITES.has(call.tool)) for (const o of e.orders ?? []) steps.push(progressOf(o.number));
    // get_order_status already shows the progress: its next step is never "show progress" again.
    if (e.order) steps.push(...afterOrder(e.order, role, call.tool === 'get_order_status'));
    if (e.found && e.found.products > 0 && hasRole(role, 'operator')) steps.push(renderThese(e.found.products));
  }
  return [...new Set(steps)].slice(0, MAX_SUGGESTIONS);
}

/** The suggestions a new conversation starts with, from where the tenant stands (`tenantGlance`). */
export function startersFrom(glance: TenantGlance, role: Role): string[] {
  const steps = glance.latest ? afterOrder(glance.latest, role, false) : [];
  if (glance.failedThisWeek > 0) steps.push(failedThisWeek(glance.failedThisWeek));
  steps.push(LATEST_ORDERS);
  return [...new Set(steps)].slice(0, MAX_SUGGESTIONS);
}
