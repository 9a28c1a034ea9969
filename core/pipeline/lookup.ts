import { z } from 'zod';
import { queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';
import type { OrderStatus } from './statuses.ts';

/** An order row of the caller's tenant, with its output type and material override names. */
export type OrderRow = {
  id: string;
  order_number: string;
  status: OrderStatus;
  output_type_id: string;
  output_type: string;
  material_override_id: string | null;
  material_override: string | null;
  render_overrides: Record<string, unknown>;
  notes: string | null;
  created_by: string | null;
  created_at: string;
  submitted_at: string | null;
  completed_at: string | null;
};

const orderNumberPattern = /^SA-\d{4}-\d{5}$/i;

/**
 * Finds an order of `tenantId` by order number (case-insensitive) or id. Another tenant's order
 * is indistinguishable from a missing one.
 */
export async function resolveOrder(em: EntityManager, tenantId: string, ref: string, opts: { forUpdate?: boolean } = {}): Promise<OrderRow> {
  const trimmed = ref.trim();
  const byId = z.uuid().safeParse(trimmed).success;
  if (!byId && !orderNumberPattern.test(trimmed)) {
    throw new UserInputError('order_not_found', `"${trimmed}" is not an order number (like SA-2026-00160) or order id.`);
  }
  const row = await queryOne<OrderRow>(em,
    `select o.id, o.order_number, o.status, o.output_type_id, ot.name as output_type, o.material_override_id,
            m.name as material_override, o.render_overrides, o.notes, o.created_by, o.created_at, o.submitted_at, o.completed_at
     from render_order o
     join output_type ot on ot.id = o.output_type_id
     left join material m on m.id = o.material_override_id
     where o.tenant_id = ? and ${byId ? 'o.id = ?::uuid' : 'o.order_number = upper(?)'}
     ${opts.forUpdate ? 'for update of o' : ''}`,
    [tenantId, trimmed],
  );
  if (!row) throw new UserInputError('order_not_found', `No order ${trimmed} was found.`);
  return row;
}
