import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { rows } from '../db/sql.ts';
import { jobStatuses } from '../pipeline/statuses.ts';
import { renderFormats } from '../renders/local.ts';

/** Items read per statement: a 100,000-item order is 100 short index range scans, never one big result in memory. */
const exportBatchSize = 1000;

/** One item of an order as exported: its product and its current render job (if dispatched). */
export type ExportItem = z.infer<typeof exportItemRow>;

const exportItemRow = z.object({
  product_id: z.string(),
  pim_id: z.string(),
  name: z.string(),
  material: z.string().nullable(),
  job_id: z.string().nullable(),
  status: z.enum(jobStatuses).nullable(),
  error: z.string().nullable(),
  result_url: z.string().nullable(),
  /** The order's output format: the extension of a local render's file. */
  format: z.enum(renderFormats),
});

/**
 * Every item of order `orderId` of `tenantId`, batch by batch in product id order (keyset over
 * the (order, product) unique index), each with its current job: its one job that is not failed,
 * else its newest failed one (as core/pipeline/current-jobs.ts). Each batch is its own statement,
 * so no connection or transaction is held while the caller writes what it got.
 */
export async function* exportItems(
  em: EntityManager,
  tenantId: string,
  orderId: string,
  batchSize = exportBatchSize,
): AsyncGenerator<ExportItem[]> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    // The page of items comes first, straight off the (order, product) unique index; only its rows are joined.
    const batch = await rows(
      em,
      exportItemRow,
      `with page as (
         select i.id, i.product_id from order_item i
         where i.order_id = ? and i.tenant_id = ? and i.product_id > ?
         order by i.order_id, i.product_id
         limit ?)
       select i.product_id, p.pim_id, p.name, coalesce(m.name, p.material_name) as material,
              j.id as job_id, j.status, j.error, j.result_url, ot.format
       from page i
       join render_order o on o.id = ? and o.tenant_id = ?
       join output_type ot on ot.id = o.output_type_id
       join product p on p.id = i.product_id
       left join material m on m.id = o.material_override_id
       left join lateral (
         select k.id, k.status, k.error, k.result_url from render_job k
         where k.order_item_id = i.id and k.tenant_id = ?
         order by (k.status = 'failed'), k.queued_at desc limit 1) j on true
       order by i.product_id`,
      [orderId, tenantId, after, batchSize, orderId, tenantId, tenantId],
    );
    if (batch.length) yield batch;
    if (batch.length < batchSize) return;
    after = batch[batch.length - 1]!.product_id;
  }
}
