import type { EntityManager } from '../db/orm.ts';
import { z } from 'zod';
import { db } from '../db/kysely.ts';
import { row } from '../db/sql.ts';
import { jobStatuses, orderStatuses } from '../pipeline/statuses.ts';
import { currentJobParams, currentJobs } from '../pipeline/current-jobs.ts';
import { storedRenderOverrides, type RenderOverrides } from '../pipeline/overrides.ts';
import { ellipsize, oneLine } from '../replies/format.ts';

/*
 * The render job state machine on the database: claim (queued → running, compare-and-set),
 * complete, fail an attempt, and derive the order's status from its jobs in one statement.
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
type OrderStatusChange = { tenantId: string; orderId: string; notify: unknown; previous: string; next: string | undefined };

/**
 * Told of every derived order status in the transaction that derived it; bot/app.ts passes
 * core/notices' `scheduleNotices`, so the render pipeline knows nothing of notices.
 */
export type OrderStatusListener = (em: EntityManager, change: OrderStatusChange, now: Date) => Promise<void>;

/** A row of `claimJob`'s query. */
const claimJobRow = z.object({ attempts: z.number() });

/**
 * Claims job `jobId` of `tenantId` for one attempt: queued → running, attempts+1, started_at.
 * With `reclaimRunning` (the queue retries a job whose previous attempt died mid-way) a job left
 * 'running' is claimed again. Returns the attempt number, or null when the job is not claimable
 * (done, failed, cancelled, or running elsewhere).
 */
export async function claimJob(em: EntityManager, tenantId: string, jobId: string, opts: { reclaimRunning: boolean; now: Date }): Promise<number | null> {
  const claimed = await row(em, claimJobRow,
    `update render_job j set status = 'running', attempts = j.attempts + 1, started_at = ?::timestamptz, finished_at = null
     from render_order o
     where j.id = ? and j.tenant_id = ? and o.id = j.order_id and o.status <> 'cancelled'
       and (j.status = 'queued' or (? and j.status = 'running'))
     returning j.attempts`,
    [opts.now.toISOString(), jobId, tenantId, opts.reclaimRunning]);
  return claimed ? claimed.attempts : null;
}

/** Loads what a backend needs for job `jobId` of `tenantId`; undefined when it does not exist. */
export async function loadJobSpec(em: EntityManager, tenantId: string, jobId: string): Promise<RenderJobSpec | undefined> {
  const r = await db(em).selectFrom('render_job as j')
    .innerJoin('render_order as o', 'o.id', 'j.order')
    .innerJoin('product as p', 'p.id', 'j.product')
    .innerJoin('output_type as ot', 'ot.id', 'o.outputType')
    .innerJoin('order_item as i', 'i.id', 'j.orderItem')
    .leftJoin('material as m', 'm.id', 'o.materialOverride')
    .leftJoin('material as im', 'im.id', 'i.material')
    .select(['o.id as orderId', 'o.orderNumber', 'p.pimId', 'p.name', 'p.category', 'p.materialName', 'm.name as override', 'im.name as itemMaterial',
      'ot.name as outputType', 'ot.format', 'ot.width', 'ot.height', 'o.renderOverrides'])
    .where('j.id', '=', jobId).where('j.tenant', '=', tenantId)
    .executeTakeFirst();
  if (!r) return undefined;
  return {
    jobId, tenantId, orderId: r.orderId, orderNumber: r.orderNumber,
    product: { pimId: r.pimId, name: r.name, category: r.category },
    outputType: { name: r.outputType, format: r.format, width: r.width, height: r.height },
    // The order's override, else the item's material (from an uploaded file), else the product's own.
    material: r.override ?? r.itemMaterial ?? r.materialName,
    overrides: storedRenderOverrides(r.renderOverrides),
  };
}

/** running (or queued, for farm callbacks that overtake the claim) → completed; false when the job was not open. */
export async function completeJob(em: EntityManager, tenantId: string, jobId: string, resultUrl: string, now: Date): Promise<boolean> {
  const done = await db(em).updateTable('render_job').set({ status: 'completed', resultUrl, error: null, finishedAt: now })
    .where('id', '=', jobId).where('tenant', '=', tenantId).where('status', 'in', ['queued', 'running']).executeTakeFirst();
  return done.numUpdatedRows > 0n;
}

/** Marks an open job failed for good with `reason`; false when it was not open. */
export async function failJob(em: EntityManager, tenantId: string, jobId: string, reason: string, now: Date): Promise<boolean> {
  const failed = await db(em).updateTable('render_job').set({ status: 'failed', error: clipError(reason), finishedAt: now })
    .where('id', '=', jobId).where('tenant', '=', tenantId).where('status', 'in', ['queued', 'running']).executeTakeFirst();
  return failed.numUpdatedRows > 0n;
}

/** A row of `failAttempt`'s query. */
const failAttemptRow = z.object({ status: z.enum(jobStatuses) });

/**
 * Records a failed attempt of a running job: back to 'queued' with the error when attempts
 * remain (the queue retries with backoff), else 'failed' with the reason.
 */
export async function failAttempt(em: EntityManager, tenantId: string, jobId: string, reason: string, maxAttempts: number, now: Date): Promise<'retry' | 'failed' | 'gone'> {
  const attempt = await row(em, failAttemptRow,
    `update render_job set status = case when attempts < ? then 'queued' else 'failed' end, error = ?,
            finished_at = case when attempts < ? then null else ?::timestamptz end
     where id = ? and tenant_id = ? and status = 'running' returning status`,
    [maxAttempts, clipError(reason), maxAttempts, now.toISOString(), jobId, tenantId]);
  if (!attempt) return 'gone';
  return attempt.status === 'queued' ? 'retry' : 'failed';
}

/** A row of `deriveOrderStatus`'s query. */
const deriveOrderStatusRow = z.object({ status: z.enum(orderStatuses) });

/**
 * Derives the order's status from the current job of each item (`currentJobs`), in one statement: all completed
 * → 'completed' (completed_at set); any failed and none queued/running → 'failed'; else
 * 'rendering'. Drafts and cancelled orders are left alone. Returns the status after the update.
 * Tells `onStatus` about the change (the progress update or completion notice it calls for).
 * Call it in the transaction that changed the job.
 */
export async function deriveOrderStatus(em: EntityManager, tenantId: string, orderId: string, now: Date, onStatus: OrderStatusListener): Promise<string | undefined> {
  // Lock the order first, in its own statement: jobs of one order finishing in parallel then
  // derive one after another, each seeing the others' committed job changes (READ COMMITTED
  // takes a new snapshot per statement), so the last one always sees every job finished.
  const before = await db(em).selectFrom('render_order').select(['status', 'notify']).where('tenant', '=', tenantId).where('id', '=', orderId)
    .forUpdate().executeTakeFirst();
  const derived = await row(em, deriveOrderStatusRow,
    // An open (queued/running) job is always its item's current job, so "still rendering" is one
    // index probe; the current jobs are only looked through once none is open (per order, once).
    `with ${currentJobs},
     d as (
       select case when exists (select 1 from render_job j where j.tenant_id = ? and j.order_id = ? and j.status in ('queued', 'running')) then 'rendering'
                   when exists (select 1 from cur where status = 'failed') then 'failed'
                   else 'completed' end as next)
     update render_order o set status = d.next,
            completed_at = case when d.next = 'completed' then coalesce(o.completed_at, ?::timestamptz) else null end,
            updated_at = ?::timestamptz
     from d
     where o.tenant_id = ? and o.id = ? and o.status in ('submitted', 'rendering', 'completed', 'failed')
     returning o.status`,
    [...currentJobParams(tenantId, orderId), tenantId, orderId, now.toISOString(), now.toISOString(), tenantId, orderId]);
  if (before) await onStatus(em, { tenantId, orderId, notify: before.notify, previous: before.status, next: derived?.status }, now);
  return derived?.status;
}

function clipError(reason: string): string {
  return ellipsize(oneLine(reason).trim() || 'unknown error', 500);
}
