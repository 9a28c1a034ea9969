import { isUuid } from '../db/sql.ts';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';
import type { OrderStatus } from './statuses.ts';

/** An order of the caller's tenant, with its output type and material override names. */
export type OrderRow = {
  id: string;
  orderNumber: string;
  status: OrderStatus;
  outputTypeId: string;
  outputType: string;
  materialOverrideId: string | null;
  materialOverride: string | null;
  renderOverrides: Record<string, unknown>;
  notes: string | null;
  createdBy: string | null;
  createdAt: Date;
  submittedAt: Date | null;
  completedAt: Date | null;
};

const orderNumberPattern = /^SA-\d{4}-\d{5}$/i;

/**
 * Finds an order of `tenantId` by order number (case-insensitive) or id. Another tenant's order
 * is indistinguishable from a missing one.
 */
export async function resolveOrder(
  em: EntityManager,
  tenantId: string,
  ref: string,
  opts: { forUpdate?: boolean } = {},
): Promise<OrderRow> {
  const trimmed = ref.trim();
  const byId = isUuid(trimmed);
  if (!byId && !orderNumberPattern.test(trimmed)) {
    throw new UserInputError(
      'order_not_found',
      `"${trimmed}" is not an order number (like SA-2026-00160) or order id.`,
    );
  }
  const row = await db(em)
    .selectFrom('render_order as o')
    .innerJoin('output_type as ot', 'ot.id', 'o.outputType')
    .leftJoin('material as m', 'm.id', 'o.materialOverride')
    .select([
      'o.id',
      'o.orderNumber',
      'o.status',
      'o.outputType as outputTypeId',
      'ot.name as outputType',
      'o.materialOverride as materialOverrideId',
      'm.name as materialOverride',
      'o.renderOverrides',
      'o.notes',
      'o.createdBy',
      'o.createdAt',
      'o.submittedAt',
      'o.completedAt',
    ])
    .where('o.tenant', '=', tenantId)
    .where((eb) => (byId ? eb('o.id', '=', trimmed) : eb('o.orderNumber', '=', trimmed.toUpperCase())))
    .$if(opts.forUpdate === true, (q) => q.forUpdate('o'))
    .executeTakeFirst();
  if (!row) throw new UserInputError('order_not_found', `No order ${trimmed} was found.`);
  return row;
}
