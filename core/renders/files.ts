import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import type { RenderFormat } from './local.ts';

/** A completed render's tenant and file format, for serving its local file; undefined for unknown or unfinished jobs. */
export async function findCompletedRender(
  em: EntityManager,
  jobId: string,
): Promise<{ tenant: string; format: RenderFormat } | undefined> {
  return db(em)
    .selectFrom('render_job as j')
    .innerJoin('render_order as o', 'o.id', 'j.order')
    .innerJoin('output_type as ot', 'ot.id', 'o.outputType')
    .select(['j.tenant', 'ot.format'])
    .where('j.id', '=', jobId)
    .where('j.status', '=', 'completed')
    .executeTakeFirst();
}

/** The tenant an order belongs to (signed results links name the order only); undefined when there is none. */
export async function findOrderTenant(em: EntityManager, orderId: string): Promise<string | undefined> {
  const order = await db(em).selectFrom('render_order').select('tenant').where('id', '=', orderId).executeTakeFirst();
  return order?.tenant;
}

/** The tenant and number of an order (signed export links name the order only); undefined when there is none. */
export async function findOrderRef(
  em: EntityManager,
  orderId: string,
): Promise<{ tenant: string; orderNumber: string } | undefined> {
  return db(em)
    .selectFrom('render_order')
    .select(['tenant', 'orderNumber'])
    .where('id', '=', orderId)
    .executeTakeFirst();
}
