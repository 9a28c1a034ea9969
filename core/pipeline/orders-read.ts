import { z } from 'zod';
import { sql } from 'kysely';
import { sqlRow, sqlRows, timestamp } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { currentJobs } from './current-jobs.ts';
import { resolveOrder } from './lookup.ts';
import { jobStatuses, orderStatuses, type JobStatus, type OrderStatus } from './statuses.ts';

/** Job counts of an order (or tenant) by status. */
export type JobCounts = Record<JobStatus, number>;

/** An order as lists show it. Timestamps are ISO 8601 UTC strings. */
type OrderSummary = {
  id: string;
  order_number: string;
  status: OrderStatus;
  output_type: string;
  item_count: number;
  jobs: JobCounts;
  created_at: string;
  submitted_at: string | null;
  completed_at: string | null;
};

/** A failed render job of an order, newest first. */
type JobFailure = {
  pim_id: string;
  product: string;
  error: string | null;
  attempts: number;
  finished_at: string | null;
};

/** Everything get_order_status reports about one order. */
export type OrderStatusView = {
  id: string;
  order_number: string;
  status: OrderStatus;
  output_type: string;
  material_override: string | null;
  render_overrides: Record<string, unknown>;
  notes: string | null;
  created_by: string | null;
  item_count: number;
  jobs: JobCounts;
  total_jobs: number;
  /** Share of jobs finished (completed or failed), 0..1; 0 when the order has no jobs. */
  progress: number;
  created_at: string;
  submitted_at: string | null;
  first_started_at: string | null;
  last_finished_at: string | null;
  completed_at: string | null;
  /** Up to 5 most recent failures. */
  failures: JobFailure[];
};

/** Converts a PostgreSQL timestamptz string to ISO 8601 UTC (seconds precision); null stays null. */
export function toIso(value: string | Date | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Job counts by status as SQL `countColumns` returns them (bigint text). */
const countColumnsRow = z.object({
  queued: z.coerce.number(),
  running: z.coerce.number(),
  completed: z.coerce.number(),
  failed: z.coerce.number(),
});
type CountColumns = z.infer<typeof countColumnsRow>;

const countColumns = jobStatuses.map((s) => `count(*) filter (where j.status = '${s}') as ${s}`).join(', ');

function jobCounts(row: CountColumns | undefined): JobCounts {
  return {
    queued: row?.queued ?? 0,
    running: row?.running ?? 0,
    completed: row?.completed ?? 0,
    failed: row?.failed ?? 0,
  };
}

/** Sum of all job counts. */
export function totalJobs(counts: JobCounts): number {
  return counts.queued + counts.running + counts.completed + counts.failed;
}

/** Share of finished jobs, 0..1, rounded to 3 decimals. */
function progressRatio(counts: JobCounts): number {
  const total = totalJobs(counts);
  return total === 0 ? 0 : Math.round(((counts.completed + counts.failed) / total) * 1000) / 1000;
}

/** A page of orders plus the number of all orders matching the filter. */
export type OrderList = { total: number; orders: OrderSummary[] };

/** A row of `listOrders`'s query. */
const listOrdersRow = z.object({ total: z.coerce.number() });
/** An order of `listOrders`'s page. */
const listedOrderRow = countColumnsRow.extend({
  id: z.string(),
  order_number: z.string(),
  status: z.enum(orderStatuses),
  output_type: z.string(),
  item_count: z.coerce.number(),
  created_at: timestamp,
  submitted_at: timestamp.nullable(),
  completed_at: timestamp.nullable(),
});

/**
 * The tenant's orders, newest first, optionally of one status, with item count, output type and
 * job counts. Items and jobs are reached through the tenant's orders only.
 */
export async function listOrders(
  em: EntityManager,
  tenantId: string,
  opts: { status?: OrderStatus; limit: number },
): Promise<OrderList> {
  const statusFilter = opts.status ? sql`and o.status = ${opts.status}` : sql``;
  const counted = sqlRow(
    em,
    listOrdersRow,
    sql`select count(*) as total from render_order o where o.tenant_id = ${tenantId} ${statusFilter}`,
  );
  const listed = sqlRows(
    em,
    listedOrderRow,
    sql`select o.id, o.order_number, o.status, ot.name as output_type, o.created_at, o.submitted_at, o.completed_at,
            (select count(*) from order_item i where i.order_id = o.id) as item_count, jc.*
     from (select * from render_order o where o.tenant_id = ${tenantId} ${statusFilter} order by o.created_at desc, o.order_number desc limit ${Math.max(1, Math.trunc(opts.limit))}) o
     join output_type ot on ot.id = o.output_type_id
     cross join lateral (select ${sql.raw(countColumns)} from render_job j where j.order_id = o.id) jc
     order by o.created_at desc, o.order_number desc`,
  );
  const [page, count] = await Promise.all([listed, counted]);
  const orders = page.map((r) => ({
    id: r.id,
    order_number: r.order_number,
    status: r.status,
    output_type: r.output_type,
    item_count: r.item_count,
    jobs: jobCounts(r),
    created_at: toIso(r.created_at)!,
    submitted_at: toIso(r.submitted_at),
    completed_at: toIso(r.completed_at),
  }));
  return { total: count?.total ?? 0, orders };
}

/** A row of `getOrderStatus`'s query. */
/** A count row of `getOrderStatus`'s query. */
const orderStatusCountsRow = countColumnsRow.extend({
  item_count: z.coerce.number(),
  first_started_at: timestamp.nullable(),
  last_finished_at: timestamp.nullable(),
});
const getOrderStatusRow = z.object({
  pim_id: z.string(),
  product: z.string(),
  error: z.string().nullable(),
  attempts: z.number(),
  finished_at: timestamp.nullable(),
});

/**
 * Status of one order of the tenant, by order number or id (UserInputError 'order_not_found'
 * otherwise): job counts, progress, timestamps, overrides and the latest failures (`opts.failures`
 * of them, default 5).
 */
export async function getOrderStatus(
  em: EntityManager,
  tenantId: string,
  ref: string,
  opts: { failures?: number } = {},
): Promise<OrderStatusView> {
  const order = await resolveOrder(em, tenantId, ref);
  const [counts, failures] = await Promise.all([
    // Counts are over each item's current job, so a failed render that was retried counts once, as its retry.
    sqlRow(
      em,
      orderStatusCountsRow,
      sql`with ${currentJobs(tenantId, order.id)}
       select ${sql.raw(countColumns)},
              (select min(started_at) from render_job where tenant_id = ${tenantId} and order_id = ${order.id}) as first_started_at,
              (select max(finished_at) from render_job where tenant_id = ${tenantId} and order_id = ${order.id}) as last_finished_at,
              (select count(*) from order_item i where i.tenant_id = ${tenantId} and i.order_id = ${order.id}) as item_count
       from cur j`,
    ),
    sqlRows(
      em,
      getOrderStatusRow,
      sql`with ${currentJobs(tenantId, order.id)}
       select p.pim_id, p.name as product, j.error, j.attempts, j.finished_at
       from cur j join product p on p.id = j.product_id
       where j.status = 'failed'
       order by j.finished_at desc nulls last, p.pim_id limit ${opts.failures ?? 5}`,
    ),
  ]);
  const jobs = jobCounts(counts);
  return {
    id: order.id,
    order_number: order.orderNumber,
    status: order.status,
    output_type: order.outputType,
    material_override: order.materialOverride,
    render_overrides: order.renderOverrides ?? {},
    notes: order.notes,
    created_by: order.createdBy,
    item_count: counts?.item_count ?? 0,
    jobs,
    total_jobs: totalJobs(jobs),
    progress: progressRatio(jobs),
    created_at: toIso(order.createdAt)!,
    submitted_at: toIso(order.submittedAt),
    first_started_at: toIso(counts?.first_started_at),
    last_finished_at: toIso(counts?.last_finished_at),
    completed_at: toIso(order.completedAt),
    failures: failures.map((f) => ({ ...f, finished_at: toIso(f.finished_at) })),
  };
}
