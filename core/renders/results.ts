import type { EntityManager } from '../db/orm.ts';
import { query, queryOne } from '../db/sql.ts';
import { resolveOrder } from '../pipeline/lookup.ts';
import { toIso, type JobCounts } from '../pipeline/orders-read.ts';
import type { JobStatus, OrderStatus } from '../pipeline/statuses.ts';
import type { RenderLinks } from './signing.ts';

/** Most items get_render_results lists. */
export const maxResultItems = 50;

/** One item of an order with its latest render job. */
export type RenderResultItem = {
  pim_id: string;
  product: string;
  status: JobStatus | 'not_dispatched';
  attempts: number;
  error: string | null;
  /** A fresh signed link (local renders) or the farm's URL; null until completed. */
  url: string | null;
  finished_at: string | null;
};

/** Results of one order: counts over the latest job per item, and the first items. */
export type RenderResults = {
  order_number: string;
  status: OrderStatus;
  item_count: number;
  counts: JobCounts & { not_dispatched: number };
  items: RenderResultItem[];
  truncated: boolean;
};

/**
 * The render results of order `ref` of `tenantId`: the current job of each item (its one job
 * that is not failed, else its newest failed one), completed items first, at most `limit`. Local result paths are turned into signed
 * links by `links`; without it they are left out.
 */
export async function getRenderResults(em: EntityManager, tenantId: string, ref: string, links: RenderLinks | undefined, now: Date, limit = maxResultItems): Promise<RenderResults> {
  const order = await resolveOrder(em, tenantId, ref);
  const latest = `select distinct on (i.id) i.id, p.pim_id, p.name, j.id as job_id, j.status, j.attempts, j.error, j.result_url, j.finished_at
    from order_item i join product p on p.id = i.product_id
    left join render_job j on j.order_item_id = i.id and j.tenant_id = i.tenant_id
    where i.tenant_id = ? and i.order_id = ?
    order by i.id, (j.status = 'failed') nulls last, j.queued_at desc nulls last`;
  const [counts, rows] = await Promise.all([
    queryOne<Record<string, string>>(em,
      `select count(*) as items, ${['queued', 'running', 'completed', 'failed'].map((s) => `count(*) filter (where status = '${s}') as ${s}`).join(', ')},
              count(*) filter (where status is null) as not_dispatched
       from (${latest}) l`, [tenantId, order.id]),
    query<{ pim_id: string; name: string; job_id: string | null; status: JobStatus | null; attempts: number | null; error: string | null; result_url: string | null; finished_at: string | null }>(em,
      `select * from (${latest}) l
       order by case l.status when 'completed' then 0 when 'failed' then 1 when 'running' then 2 when 'queued' then 3 else 4 end, l.pim_id
       limit ?`, [tenantId, order.id, limit]),
  ]);
  const n = (k: string) => Number(counts?.[k] ?? 0);
  return {
    order_number: order.order_number,
    status: order.status,
    item_count: n('items'),
    counts: { queued: n('queued'), running: n('running'), completed: n('completed'), failed: n('failed'), not_dispatched: n('not_dispatched') },
    items: rows.map((r) => ({
      pim_id: r.pim_id,
      product: r.name,
      status: r.status ?? 'not_dispatched',
      attempts: Number(r.attempts ?? 0),
      error: r.status === 'failed' ? r.error : null,
      url: r.status === 'completed' && r.job_id ? resultLink(r.result_url, r.job_id, links, now) : null,
      finished_at: toIso(r.finished_at),
    })),
    truncated: n('items') > rows.length,
  };
}

/** A stored result as a link: local renders (`/renders/<id>`) get a fresh signature; farm URLs stay as they are. */
export function resultLink(resultUrl: string | null, jobId: string, links: RenderLinks | undefined, now: Date): string | null {
  if (!resultUrl) return null;
  if (resultUrl.startsWith('/renders/')) return links ? links.signedRenderUrl(jobId, undefined, now) : null;
  return resultUrl;
}
