import type { EntityManager } from '../db/orm.ts';
import { query, queryOne } from '../db/sql.ts';
import { scheduleNotices } from '../notices/schedule.ts';
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

/**
 * Claims job `jobId` of `tenantId` for one attempt: queued → running, attempts+1, started_at.
 * With `reclaimRunning` (the queue retries a job whose previous attempt died mid-way) a job left
 * 'running' is claimed again. Returns the attempt number, or null when the job is not claimable
 * (done, failed, cancelled, or running elsewhere).
 */
export async function claimJob(em: EntityManager, tenantId: string, jobId: string, opts: { reclaimRunning: boolean; now: Date }): Promise<number | null> {
  const row = await queryOne<{ attempts: number }>(em,
    `update render_job j set status = 'running', attempts = j.attempts + 1, started_at = ?::timestamptz, finished_at = null
     from render_order o
     where j.id = ? and j.tenant_id = ? and o.id = j.order_id and o.status <> 'cancelled'
       and (j.status = 'queued' or (? and j.status = 'running'))
     returning j.attempts`,
    [opts.now.toISOString(), jobId, tenantId, opts.reclaimRunning]);
  return row ? Number(row.attempts) : null;
}

/** Loads what a backend needs for job `jobId` of `tenantId`; undefined when it does not exist. */
export async function loadJobSpec(em: EntityManager, tenantId: string, jobId: string): Promise<RenderJobSpec | undefined> {
  const r = await queryOne<{
    order_id: string; order_number: string; pim_id: string; name: string; category: string; material: string | null;
    ot_name: string; format: 'webp' | 'png' | 'jpeg'; width: number; height: number; render_overrides: unknown;
  }>(em,
    `select o.id as order_id, o.order_number, p.pim_id, p.name, p.category, coalesce(m.name, p.material_name) as material,
            ot.name as ot_name, ot.format, ot.width, ot.height, o.render_overrides
     from render_job j
     join render_order o on o.id = j.order_id
     join product p on p.id = j.product_id
     join output_type ot on ot.id = o.output_type_id
     left join material m on m.id = o.material_override_id
     where j.id = ? and j.tenant_id = ?`, [jobId, tenantId]);
  if (!r) return undefined;
  return {
    jobId, tenantId, orderId: r.order_id, orderNumber: r.order_number,
    product: { pimId: r.pim_id, name: r.name, category: r.category },
    outputType: { name: r.ot_name, format: r.format, width: Number(r.width), height: Number(r.height) },
    material: r.material,
    overrides: storedRenderOverrides(r.render_overrides as Record<string, unknown>),
  };
}

/** running (or queued, for farm callbacks that overtake the claim) → completed; false when the job was not open. */
export async function completeJob(em: EntityManager, tenantId: string, jobId: string, resultUrl: string, now: Date): Promise<boolean> {
  const rows = await query(em,
    `update render_job set status = 'completed', result_url = ?, error = null, finished_at = ?::timestamptz
     where id = ? and tenant_id = ? and status in ('queued', 'running') returning id`,
    [resultUrl, now.toISOString(), jobId, tenantId]);
  return rows.length > 0;
}

/** Marks an open job failed for good with `reason`; false when it was not open. */
export async function failJob(em: EntityManager, tenantId: string, jobId: string, reason: string, now: Date): Promise<boolean> {
  const rows = await query(em,
    `update render_job set status = 'failed', error = ?, finished_at = ?::timestamptz
     where id = ? and tenant_id = ? and status in ('queued', 'running') returning id`,
    [clipError(reason), now.toISOString(), jobId, tenantId]);
  return rows.length > 0;
}

/**
 * Records a failed attempt of a running job: back to 'queued' with the error when attempts
 * remain (the queue retries with backoff), else 'failed' with the reason.
 */
export async function failAttempt(em: EntityManager, tenantId: string, jobId: string, reason: string, maxAttempts: number, now: Date): Promise<'retry' | 'failed' | 'gone'> {
  const row = await queryOne<{ status: 'queued' | 'failed' }>(em,
    `update render_job set status = case when attempts < ? then 'queued' else 'failed' end, error = ?,
            finished_at = case when attempts < ? then null else ?::timestamptz end
     where id = ? and tenant_id = ? and status = 'running' returning status`,
    [maxAttempts, clipError(reason), maxAttempts, now.toISOString(), jobId, tenantId]);
  if (!row) return 'gone';
  return row.status === 'queued' ? 'retry' : 'failed';
}

/**
 * Derives the order's status from the current job of each item (`currentJobs`), in one statement: all completed
 * → 'completed' (completed_at set); any failed and none queued/running → 'failed'; else
 * 'rendering'. Drafts and cancelled orders are left alone. Returns the status after the update.
 * Queues the progress update or completion notice the change calls for (core/notices).
 * Call it in the transaction that changed the job.
 */
export async function deriveOrderStatus(em: EntityManager, tenantId: string, orderId: string, now: Date): Promise<string | undefined> {
  // Lock the order first, in its own statement: jobs of one order finishing in parallel then
  // derive one after another, each seeing the others' committed job changes (READ COMMITTED
  // takes a new snapshot per statement), so the last one always sees every job finished.
  const before = await queryOne<{ status: string; notify: unknown }>(em, `select status, notify from render_order where tenant_id = ? and id = ? for update`, [tenantId, orderId]);
  const row = await queryOne<{ status: string }>(em,
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
  if (before) await scheduleNotices(em, { tenantId, orderId, notify: before.notify, previous: before.status, next: row?.status }, now);
  return row?.status;
}

function clipError(reason: string): string {
  return ellipsize(oneLine(reason).trim() || 'unknown error', 500);
}
