import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { EntityManager } from '../../core/db/orm.ts';
import { localRenderPath } from '../../core/renders/local.ts';
import { idRow } from '../../core/db/sql.ts';
import { rows } from './rows.ts';

let orderSeq = 0;

const jobRow = z.object({
  id: z.string(),
  pim_id: z.string(),
  status: z.string(),
  format: z.enum(['webp', 'png', 'jpeg']),
});

/**
 * A finished order of `tenantId` over the products whose PIM id starts with `pimPrefix`, written
 * straight as rows (as the render worker leaves them): completed local renders whose files hold
 * `bytesOf(pimId)`, except `failed` ones (PIM id → error). Returns the order and its jobs by PIM id.
 */
export async function finishedLocalOrder(
  em: EntityManager,
  dataDir: string,
  tenantId: string,
  outputTypeId: string,
  pimPrefix: string,
  bytesOf: (pimId: string) => Buffer,
  failed: Record<string, string> = {},
) {
  orderSeq += 1;
  const orderNumber = `SA-2026-${String(90000 + orderSeq)}`;
  const [order] = await rows(
    em,
    idRow,
    `insert into render_order (tenant_id, order_number, status, output_type_id, submitted_at, completed_at) values (?, ?, 'completed', ?, now(), now()) returning id`,
    [tenantId, orderNumber, outputTypeId],
  );
  await em.execute(
    `insert into order_item (tenant_id, order_id, product_id) select tenant_id, ?, id from product where tenant_id = ? and starts_with(pim_id, ?)`,
    [order!.id, tenantId, pimPrefix],
  );
  await em.execute(
    `insert into render_job (tenant_id, order_id, order_item_id, product_id, status, attempts, error, result_url, finished_at)
     select i.tenant_id, i.order_id, i.id, i.product_id,
            case when f.error is null then 'completed' else 'failed' end, 1, f.error, null, now()
     from order_item i join product p on p.id = i.product_id
     left join jsonb_each_text(?::jsonb) f(pim_id, error) on f.pim_id = p.pim_id
     where i.order_id = ?`,
    [JSON.stringify(failed), order!.id],
  );
  await em.execute(`update render_job set result_url = '/renders/' || id where order_id = ? and status = 'completed'`, [
    order!.id,
  ]);
  const jobs = await rows(
    em,
    jobRow,
    `select j.id, p.pim_id, j.status, ot.format from render_job j join product p on p.id = j.product_id
     join render_order o on o.id = j.order_id join output_type ot on ot.id = o.output_type_id where j.order_id = ? order by p.pim_id`,
    [order!.id],
  );
  for (const j of jobs.filter((x) => x.status === 'completed')) {
    const file = localRenderPath(dataDir, tenantId, j.id, j.format);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytesOf(j.pim_id));
  }
  return { orderId: order!.id, orderNumber, jobs };
}
