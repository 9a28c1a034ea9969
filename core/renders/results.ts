import type { EntityManager } from '../db/orm.ts';
import { z } from 'zod';
import { sql } from 'kysely';
import { sqlRow, sqlRows, timestamp } from '../db/sql.ts';
import { resolveOrder } from '../pipeline/lookup.ts';
import { toIso, type JobCounts } from '../pipeline/orders-read.ts';
import { currentJobs } from '../pipeline/current-jobs.ts';
import { jobStatuses, type JobStatus, type OrderStatus } from '../pipeline/statuses.ts';
import type { RenderLinks } from './signing.ts';

/** Most items get_render_results lists. */
const maxResultItems = 50;

/** One item of an order with its latest render job. */
type RenderResultItem = {
  pim_id: string;
  product: string;
  status: JobStatus | 'not_dispatched';
  attempts: number;
  error: string | null;
  /** A fresh signed link (local renders) or the farm's URL; null until completed. */
  url: string | null;
  /** For pictures in chat: a signed small WebP (local renders) or the farm's URL; null until completed. Not for the model. */
  thumbnail: string | null;
  finished_at: string | null;
};

/** Results of one order: counts over the latest job per item, and the first items. */
export type RenderResults = {
  /** The order's id (for citing its results page; not shown to the model). */
  order_id: string;
  order_number: string;
  status: OrderStatus;
  item_count: number;
  counts: JobCounts & { not_dispatched: number };
  items: RenderResultItem[];
  truncated: boolean;
};

/** One count column per job status over `cur` (statuses are our own constants, not input). */
const statusCounts = sql.raw(jobStatuses.map((s) => `count(*) filter (where status = '${s}') as ${s}`).join(', '));

/** A row of `getRenderResults`'s query. */
const getRenderResultsRow = z.object({
  items: z.coerce.number(),
  ...Object.fromEntries(jobStatuses.map((s) => [s, z.coerce.number()])),
});

/** A row of `getRenderResults`'s query. */
const getRenderResultsRow2 = z.object({
  pim_id: z.string(),
  name: z.string(),
  job_id: z.string().nullable(),
  status: z.enum(jobStatuses).nullable(),
  attempts: z.number().nullable(),
  error: z.string().nullable(),
  result_url: z.string().nullable(),
  finished_at: timestamp.nullable(),
});

/**
 * The render results of order `ref` of `tenantId`: the current job of each item (its one job
 * that is not failed, else its newest failed one), completed items first, at most `limit`. Local result paths are turned into signed
 * links by `links`; without it they are left out.
 */
export async function getRenderResults(
  em: EntityManager,
  tenantId: string,
  ref: string,
  links: RenderLinks | undefined,
  now: Date,
  limit = maxResultItems,
): Promise<RenderResults> {
  const order = await resolveOrder(em, tenantId, ref);
  // Current jobs (currentJobs), then items never dispatched — looked up only when the page has
  // room for them — and only the first `limit` by status and PIM id: a 50,000-item order sorts nothing wide.
  const counts = await sqlRow(
    em,
    getRenderResultsRow,
    sql`with ${currentJobs(tenantId, order.id)}
     select (select count(*) from order_item i where i.tenant_id = ${tenantId} and i.order_id = ${order.id}) as items,
            ${statusCounts}
     from cur`,
  );
  const c = (k: JobStatus | 'items') => (counts as Record<string, number> | undefined)?.[k] ?? 0;
  const dispatched = jobStatuses.reduce((sum, s) => sum + c(s), 0);
  const undispatched =
    dispatched < limit && c('items') > dispatched
      ? sql`union all
       select i.product_id, null, null, null, null, null, null from order_item i
       where i.tenant_id = ${tenantId} and i.order_id = ${order.id} and not exists (select 1 from render_job k where k.order_item_id = i.id)`
      : sql``;
  const listed = await sqlRows(
    em,
    getRenderResultsRow2,
    sql`with ${currentJobs(tenantId, order.id)},
     l as (
       select j.product_id, j.id as job_id, j.status, j.attempts, j.error, j.result_url, j.finished_at from cur j
       ${undispatched})
     select p.pim_id, p.name, l.job_id, l.status, l.attempts, l.error, l.result_url, l.finished_at
     from l join product p on p.id = l.product_id
     order by case l.status when 'completed' then 0 when 'failed' then 1 when 'running' then 2 when 'queued' then 3 else 4 end, p.pim_id
     limit ${limit}`,
  );
  return {
    order_id: order.id,
    order_number: order.orderNumber,
    status: order.status,
    item_count: c('items'),
    counts: {
      queued: c('queued'),
      running: c('running'),
      completed: c('completed'),
      failed: c('failed'),
      not_dispatched: Math.max(0, c('items') - dispatched),
    },
    items: listed.map((r) => ({
      pim_id: r.pim_id,
      product: r.name,
      status: r.status ?? 'not_dispatched',
      attempts: r.attempts ?? 0,
      error: r.status === 'failed' ? r.error : null,
      url: r.status === 'completed' && r.job_id ? resultLink(r.result_url, r.job_id, links, now) : null,
      thumbnail:
        r.status === 'completed' && r.job_id ? thumbnailLink(r.result_url, tenantId, r.job_id, links, now) : null,
      finished_at: toIso(r.finished_at),
    })),
    truncated: c('items') > listed.length,
  };
}

/** A stored result as a link: local renders (`/renders/<id>`) get a fresh signature; farm URLs stay as they are. */
export function resultLink(
  resultUrl: string | null,
  jobId: string,
  links: RenderLinks | undefined,
  now: Date,
): string | null {
  if (!resultUrl) return null;
  if (resultUrl.startsWith('/renders/')) return links ? links.signedRenderUrl(jobId, undefined, now) : null;
  return resultUrl;
}

/** A stored result as a picture for chat: local renders get a signed thumbnail link; farm URLs (never fetched by the bot) stay as they are. */
function thumbnailLink(
  resultUrl: string | null,
  tenantId: string,
  jobId: string,
  links: RenderLinks | undefined,
  now: Date,
): string | null {
  if (!resultUrl) return null;
  if (resultUrl.startsWith('/renders/')) return links ? links.signedThumbUrl(tenantId, jobId, undefined, now) : null;
  return resultUrl;
}
