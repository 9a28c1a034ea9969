import type { EntityManager } from '../db/orm.ts';
import { db } from '../db/kysely.ts';
import { setStatusFromJobs } from '../pipeline/order-status.ts';
import { storedRenderOverrides, type RenderOverrides } from '../pipeline/overrides.ts';

export { claimJob, completeJob, failAttempt, failJob } from '../pipeline/render-job-states.ts';

/*
 * The render job state machine: claim (queued → running, compare-and-set), complete and fail an
 * attempt (their statements in core/pipeline/render-job-states.ts, which owns render_job), and
 * derive the order's status from its jobs.
 */

/** Everything a backend needs to render one job. */
export type RenderJobSpec = {
  jobId: string;
  tenantId: string;
  orderId: string;
  orderNumber: string;
  product: { pimId: string; name: string; category: string };
  outputType: { name: string; format: 'webp' | 'png' | 'jpeg'; width: number; height: number };
  /** The order's material override, else the product's own material name, else null. */
  material: string | null;
  overrides: RenderOverrides;
};

/** An order's status as `deriveOrderStatus` found it (`previous`, with whom to notify) and left it (`next`). */
type OrderStatusChange = {
  tenantId: string;
  orderId: string;
  notify: unknown;
  previous: string;
  next: string | undefined;
};

/**
 * Told of every derived order status in the transaction that derived it; bot/app.ts passes
 * core/notices' `scheduleNotices`, so the render pipeline knows nothing of notices.
 */
export type OrderStatusListener = (em: EntityManager, change: OrderStatusChange, now: Date) => Promise<void>;

/** Loads what a backend needs for job `jobId` of `tenantId`; undefined when it does not exist. */
export async function loadJobSpec(
  em: EntityManager,
  tenantId: string,
  jobId: string,
): Promise<RenderJobSpec | undefined> {
  const r = await db(em)
    .selectFrom('render_job as j')
    .innerJoin('render_order as o', 'o.id', 'j.order')
    .innerJoin('product as p', 'p.id', 'j.product')
    .innerJoin('output_type as ot', 'ot.id', 'o.outputType')
    .innerJoin('order_item as i', 'i.id', 'j.orderItem')
    .leftJoin('material as m', 'm.id', 'o.materialOverride')
    .leftJoin('material as im', 'im.id', 'i.material')
    .select([
      'o.id as orderId',
      'o.orderNumber',
      'p.pimId',
      'p.name',
      'p.category',
      'p.materialName',
      'm.name as override',
      'im.name as itemMaterial',
      'ot.name as outputType',
      'ot.format',
      'ot.width',
      'ot.height',
      'o.renderOverrides',
    ])
    .where('j.id', '=', jobId)
    .where('j.tenant', '=', tenantId)
    .executeTakeFirst();
  if (!r) return undefined;
  return {
    jobId,
    tenantId,
    orderId: r.orderId,
    orderNumber: r.orderNumber,
    product: { pimId: r.pimId, name: r.name, category: r.category },
    outputType: { name: r.outputType, format: r.format, width: r.width, height: r.height },
    // The order's override, else the item's material (from an uploaded file), else the product's own.
    material: r.override ?? r.itemMaterial ?? r.materialName,
    overrides: storedRenderOverrides(r.renderOverrides),
  };
}

/**
 * Derives the order's status from the current job of each item (`setStatusFromJobs`, one statement): all completed
 * → 'completed' (completed_at set); any failed and none queued/running → 'failed'; else
 * 'rendering'. Drafts and cancelled orders are left alone. Returns the status after the update.
 * Tells `onStatus` about the change (the progress update or completion notice it calls for).
 * Call it in the transaction that changed the job.
 */
export async function deriveOrderStatus(
  em: EntityManager,
  tenantId: string,
  orderId: string,
  now: Date,
  onStatus: OrderStatusListener,
): Promise<string | undefined> {
  // Lock the order first, in its own statement: jobs of one order finishing in parallel then
  // derive one after another, each seeing the others' committed job changes (READ COMMITTED
  // takes a new snapshot per statement), so the last one always sees every job finished.
  const before = await db(em)
    .selectFrom('render_order')
    .select(['status', 'notify'])
    .where('tenant', '=', tenantId)
    .where('id', '=', orderId)
    .forUpdate()
    .executeTakeFirst();
  const derived = await setStatusFromJobs(em, tenantId, orderId, now);
  if (before)
    await onStatus(em, { tenantId, orderId, notify: before.notify, previous: before.status, next: derived }, now);
  return derived;
}
