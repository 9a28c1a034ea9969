import type { EntityManager } from '../db/orm.ts';
import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import { db } from '../db/kysely.ts';
import { countRow, rows, sqlRow } from '../db/sql.ts';
import { UserInputError } from '../errors.ts';
import { resolveOrder, type OrderRow } from './lookup.ts';
import { nextOrderNumber } from './order-numbers.ts';
import type { ProductFilter } from './products.ts';
import { freezePimIds, freezeSelection, selectionIds, selectionSize } from './selections.ts';
import {
  mergeRenderOverrides,
  parseRenderOverrides,
  storedRenderOverrides,
  type RenderOverrideKey,
  type RenderOverrides,
} from './overrides.ts';
import type { OrderStatus } from './statuses.ts';

/*
 * Order domain service. Every write comes in two halves that share their validation: a
 * `plan*` function (used by a tool's `prepare` for the preview and again by `run`) and the
 * write itself, which re-plans with the order row locked so a stale preview fails clearly.
 */

/** Most products one order may hold (a whole category of a large catalogue: "render all Kugellager"). */
export const maxOrderProducts = 100_000;
/** The material name that means "no override: render each product with its own material". */
export const noMaterialOverride = 'none';

/** An output type of the tenant, as previews show it. */
type OutputTypeRef = { id: string; name: string; format: string; width: number; height: number };
/** A material of the tenant. */
type MaterialRef = { id: string; name: string };
/**
 * Resolved products of an order: how many, the first few for previews (in request order, or by
 * name for a filter), and either their ids (explicit refs) or the frozen selection holding them.
 */
type ResolvedProducts = {
  count: number;
  sample: { pimId: string; name: string }[];
  ids?: string[];
  selection?: { selectionId: string; description: string };
};

/**
 * Which products an order holds: uuids or PIM ids of the tenant (duplicates ignored), every
 * product matching a filter or named by a list of PIM ids given as SQL (an uploaded file's; both
 * frozen into a selection when planned, the list's unknown ids left out), or a selection frozen
 * earlier (products deleted since are left out and counted).
 */
export type ProductSource =
  | { refs: string[] }
  | { filter: ProductFilter }
  | { list: RawBuilder<unknown>; description: string }
  | { selectionId: string };

/** What `createOrder` needs; the tenant is a separate argument and never part of the input. */
export type CreateOrderInput = {
  products: ProductSource;
  outputTypeName: string;
  /** A material name applied to every product; null, absent or "none" = each product's own material. */
  materialOverride?: string | null;
  renderOverrides?: RenderOverrides;
  /** Dispatch one render job per product right away (order → 'rendering'); else a draft. */
  submit: boolean;
  createdBy: string;
  now: Date;
};
/** A validated create_order: everything resolved, nothing written (but a filter's frozen selection). */
export type CreateOrderPlan = {
  products: ResolvedProducts;
  outputType: OutputTypeRef;
  material: MaterialRef | null;
  renderOverrides: RenderOverrides;
  submit: boolean;
};
/**
 * The order `createOrder` wrote: 'rendering' with `jobCount` jobs when submitted, else a 'draft'
 * with none. `missingProducts`: products of a frozen selection deleted since (left out).
 */
export type CreatedOrder = {
  orderId: string;
  orderNumber: string;
  status: OrderStatus;
  itemCount: number;
  jobCount: number;
  missingProducts: number;
};

/**
 * Validates and resolves everything `createOrder` needs. Writes nothing, except that a filter
 * is frozen into a selection now (core/pipeline/selections.ts), so the plan's count is exactly
 * what an order from it holds.
 */
export async function planCreateOrder(
  em: EntityManager,
  tenantId: string,
  input: Omit<CreateOrderInput, 'createdBy' | 'now'>,
): Promise<CreateOrderPlan> {
  const outputType = await resolveOutputType(em, tenantId, input.outputTypeName);
  const material = isNoMaterial(input.materialOverride)
    ? null
    : await resolveMaterial(em, tenantId, input.materialOverride!);
  const renderOverrides = parseRenderOverrides(input.renderOverrides ?? {});
  const src = input.products;
  let products: ResolvedProducts;
  if ('refs' in src) {
    products = await resolveProducts(em, tenantId, src.refs);
  } else if ('filter' in src) {
    const f = await freezeSelection(em, tenantId, src.filter, maxOrderProducts);
    products = {
      count: f.count,
      sample: f.sample,
      selection: { selectionId: f.selectionId, description: f.description },
    };
  } else if ('list' in src) {
    const f = await freezePimIds(em, tenantId, src.list, src.description, maxOrderProducts);
    products = {
      count: f.count,
      sample: f.sample,
      selection: { selectionId: f.selectionId, description: f.description },
    };
  } else {
    products = {
      count: await selectionSize(em, tenantId, src.selectionId),
      sample: [],
      selection: { selectionId: src.selectionId, description: 'frozen' },
    };
  }
  return { products, outputType, material, renderOverrides, submit: input.submit };
}

/**
 * Creates an order with one item per product and, when `submit`, dispatches its render jobs,
 * all on `em` (the caller's transaction). Set-based: one statement per table whatever the size
 * (50,000 items, jobs and queue jobs in seconds). Explicit refs must all still exist; of a
 * frozen selection, products deleted since are left out and counted (none left → nothing).
 */
export async function createOrder(em: EntityManager, tenantId: string, input: CreateOrderInput): Promise<CreatedOrder> {
  if ('filter' in input.products || 'list' in input.products)
    throw new Error('createOrder takes refs or a frozen selection; freeze a filter or list with planCreateOrder first');
  const plan = await planCreateOrder(em, tenantId, input);
  const selectionId = plan.products.selection?.selectionId;
  if (selectionId && plan.products.count === 0)
    throw new UserInputError('product_not_found', 'The confirmed selection holds no products; nothing was created.');
  const orderNumber = await nextOrderNumber(em, tenantId, input.now);
  const { id: orderId } = await db(em)
    .insertInto('render_order')
    .values({
      tenant: tenantId,
      orderNumber,
      status: 'draft',
      outputType: plan.outputType.id,
      materialOverride: plan.material?.id ?? null,
      renderOverrides: plan.renderOverrides,
      createdBy: input.createdBy,
      createdAt: input.now,
      updatedAt: input.now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  // The products come from SQL (a frozen selection) or one JSON parameter — never one parameter per product.
  const source = selectionId
    ? selectionIds(tenantId, selectionId)
    : sql`select x::uuid as id, null::uuid as material_id from jsonb_array_elements_text(${JSON.stringify(plan.products.ids)}::jsonb) as t(x)`;
  const items = await sqlRow(
    em,
    countRow,
    sql`with ins as (
       insert into order_item (tenant_id, order_id, product_id, material_id)
       select p.tenant_id, ${orderId}, p.id, x.material_id from (${source}) x join product p on p.id = x.id and p.tenant_id = ${tenantId}
       returning 1)
     select count(*) as n from ins`,
  );
  const itemCount = items?.n ?? 0;
  const missingProducts = plan.products.count - itemCount;
  if (missingProducts > 0 && (!selectionId || itemCount === 0)) {
    const what = selectionId
      ? `None of the ${plan.products.count} selected products exist any more`
      : `${missingProducts} of the products were deleted meanwhile`;
    throw new UserInputError('product_not_found', `${what}; nothing was created. Search again and retry.`);
  }
  if (!plan.submit) return { orderId, orderNumber, status: 'draft', itemCount, jobCount: 0, missingProducts };
  const jobCount = await queueJobs(em, tenantId, orderId, input.now);
  return { orderId, orderNumber, status: 'rendering', itemCount, jobCount, missingProducts };
}

/** A dispatch decision: 'first' queues every item, 'retry' re-queues items whose renders failed. */
export type DispatchPlan = { order: OrderRow; mode: 'first' | 'retry'; itemCount: number; jobCount: number };
/** What `dispatchRenders` did; `status` is always 'rendering'. */
export type DispatchResult = {
  orderId: string;
  orderNumber: string;
  previousStatus: OrderStatus;
  status: OrderStatus;
  mode: 'first' | 'retry';
  jobCount: number;
};

// Items that still need a render: no job yet, or every job they had failed (a FROM clause over
// order_item `i`). The uncorrelated NOT IN is evaluated once (a hashed subplan), so inserting
// jobs from this query never rescans render_job per item.
function pendingItems(tenantId: string, orderId: string): RawBuilder<unknown> {
  return sql`from order_item i
  where i.tenant_id = ${tenantId} and i.order_id = ${orderId}
    and i.id not in (select j.order_item_id from render_job j where j.tenant_id = ${tenantId} and j.order_id = ${orderId} and j.status <> 'failed')`;
}

/** A row of `planDispatch`'s query. */
const planDispatchRow = z.object({ items: z.coerce.number(), pending: z.coerce.number() });

/**
 * Decides what `dispatchRenders` would do. Draft/submitted → one job per item. Failed, or
 * completed with failed renders → new jobs for exactly the items whose renders failed.
 * Rendering, cancelled, or nothing left to render → UserInputError saying why.
 */
export async function planDispatch(
  em: EntityManager,
  tenantId: string,
  ref: string,
  opts: { forUpdate?: boolean } = {},
): Promise<DispatchPlan> {
  const order = await resolveOrder(em, tenantId, ref, opts);
  const n = order.orderNumber;
  if (order.status === 'rendering') {
    throw new UserInputError(
      'invalid_status',
      `${n} is already rendering; wait until it finishes, then re-dispatch any failed renders.`,
    );
  }
  if (order.status === 'cancelled') {
    throw new UserInputError(
      'invalid_status',
      `${n} is cancelled and cannot be dispatched. Create a new order instead.`,
    );
  }
  const counts = await sqlRow(
    em,
    planDispatchRow,
    sql`select (select count(*) from order_item i where i.tenant_id = ${tenantId} and i.order_id = ${order.id}) as items,
            (select count(*) ${pendingItems(tenantId, order.id)}) as pending`,
  );
  const itemCount = counts?.items ?? 0;
  const jobCount = counts?.pending ?? 0;
  const mode = order.status === 'draft' || order.status === 'submitted' ? 'first' : 'retry';
  if (jobCount === 0) {
    const why =
      itemCount === 0
        ? `${n} has no products to render.`
        : order.status === 'completed'
          ? `${n} is completed and none of its renders failed; create a new order to render again.`
          : `${n} has no failed renders to re-dispatch.`;
    throw new UserInputError('nothing_to_dispatch', why);
  }
  return { order, mode, itemCount, jobCount };
}

/** Queues render jobs for order `ref` as `planDispatch` describes and sets it to 'rendering'. */
export async function dispatchRenders(
  em: EntityManager,
  tenantId: string,
  ref: string,
  now: Date,
): Promise<DispatchResult> {
  const plan = await planDispatch(em, tenantId, ref, { forUpdate: true });
  const jobCount = await queueJobs(em, tenantId, plan.order.id, now);
  return {
    orderId: plan.order.id,
    orderNumber: plan.order.orderNumber,
    previousStatus: plan.order.status,
    status: 'rendering',
    mode: plan.mode,
    jobCount,
  };
}

async function queueJobs(em: EntityManager, tenantId: string, orderId: string, now: Date): Promise<number> {
  const at = now.toISOString();
  // One queue job per render job, added in the same statement (and so the same transaction):
  // a job exists on the queue exactly when its row commits. Job key = render job id. Priority
  // 10 (after the turns' default 0) so a big order does not hold chat replies back.
  const jobs = await sqlRow(
    em,
    countRow,
    sql`with ins as (
       insert into render_job (tenant_id, order_id, order_item_id, product_id, status, queued_at)
       select i.tenant_id, i.order_id, i.id, i.product_id, 'queued', ${at}::timestamptz ${pendingItems(tenantId, orderId)}
       returning id, tenant_id)
     select count(*) as n from graphile_worker.add_jobs(coalesce((
       select array_agg(${renderJobSpec})
       from ins), '{}'))`,
  );
  await em.execute(
    `update render_order set status = 'rendering', submitted_at = coalesce(submitted_at, ?::timestamptz), completed_at = null, updated_at = ?::timestamptz,
            progress_message = null, notice_sent_at = null, notice_claim = null, progress_seq = progress_seq + 1
     where tenant_id = ? and id = ?`,
    [at, at, tenantId, orderId],
  );
  return jobs?.n ?? 0;
}

/**
 * Puts every queued render job of a tenant on the queue (job key = render job id, so a job
 * already waiting there is not doubled); for jobs written without the queue, e.g. seeded data.
 */
export async function enqueueWaitingJobs(em: EntityManager, tenantId: string): Promise<number> {
  const added = await sqlRow(
    em,
    countRow,
    sql`select count(*) as n from graphile_worker.add_jobs(coalesce((
       select array_agg(${renderJobSpec})
       from render_job where tenant_id = ${tenantId} and status = 'queued'), '{}'))`,
  );
  return added?.n ?? 0;
}

/**
 * The queue's own attempt ceiling for render jobs. The render task counts attempts on the
 * render job itself and stops at RENDER_MAX_ATTEMPTS (default 3) by finishing the job as
 * failed; this ceiling only bounds retries of attempts that died without recording anything.
 */
const renderQueueMaxAttempts = 25;
/** Queue priority of render jobs: graphile-worker runs lower numbers first; turns use 0. */
const renderQueuePriority = 10;

/**
 * A graphile-worker job spec for the render job in the row at hand (columns `id`, `tenant_id`):
 * job key = render job id, so a job already waiting is not doubled; with the render queue's
 * attempt ceiling and priority.
 */
export const renderJobSpec: RawBuilder<unknown> = sql`row('render_job', json_build_object('renderJobId', id, 'tenantId', tenant_id), null, null, ${renderQueueMaxAttempts}, id::text, ${renderQueuePriority}, null)::graphile_worker.job_spec`;

/** A material override change: `material` null means "clear the override". */
export type MaterialOverridePlan = { order: OrderRow; material: MaterialRef | null };

/** Validates a material override change: the order is still editable and the material exists. */
export async function planMaterialOverride(
  em: EntityManager,
  tenantId: string,
  ref: string,
  materialName: string | null,
  opts: { forUpdate?: boolean } = {},
): Promise<MaterialOverridePlan> {
  const order = await resolveOrder(em, tenantId, ref, opts);
  assertEditable(order);
  const material = isNoMaterial(materialName) ? null : await resolveMaterial(em, tenantId, materialName!);
  return { order, material };
}

/**
 * Sets (or with null / "none" clears) the material override of order `ref`. Refused once the
 * order is completed or cancelled; while rendering it applies to jobs not started yet.
 */
export async function setMaterialOverride(
  em: EntityManager,
  tenantId: string,
  ref: string,
  materialName: string | null,
): Promise<{
  orderId: string;
  orderNumber: string;
  status: OrderStatus;
  previous: string | null;
  materialOverride: string | null;
}> {
  const { order, material } = await planMaterialOverride(em, tenantId, ref, materialName, { forUpdate: true });
  await db(em)
    .updateTable('render_order')
    .set({ materialOverride: material?.id ?? null, updatedAt: sql<Date>`now()` })
    .where('tenant', '=', tenantId)
    .where('id', '=', order.id)
    .execute();
  return {
    orderId: order.id,
    orderNumber: order.orderNumber,
    status: order.status,
    previous: order.materialOverride,
    materialOverride: material?.name ?? null,
  };
}

/** A render overrides change: the stored value before and the merged value after. */
export type RenderOverridesPlan = { order: OrderRow; previous: RenderOverrides; next: RenderOverrides };

/** Validates a render overrides change and computes the merged result. */
export async function planRenderOverrides(
  em: EntityManager,
  tenantId: string,
  ref: string,
  overrides: RenderOverrides,
  clear: readonly RenderOverrideKey[] = [],
  opts: { forUpdate?: boolean } = {},
): Promise<RenderOverridesPlan> {
  const patch = parseRenderOverrides(overrides);
  if (Object.keys(patch).length === 0 && clear.length === 0) {
    throw new UserInputError(
      'invalid_overrides',
      'Nothing to change: give at least one render override to set or one key to clear.',
    );
  }
  const order = await resolveOrder(em, tenantId, ref, opts);
  assertEditable(order);
  const previous = storedRenderOverrides(order.renderOverrides);
  return { order, previous, next: mergeRenderOverrides(previous, patch, clear) };
}

/**
 * Merges `overrides` into order `ref`'s render overrides (keys in `clear` are removed first);
 * the result is validated. Refused once the order is completed or cancelled.
 */
export async function setRenderOverrides(
  em: EntityManager,
  tenantId: string,
  ref: string,
  overrides: RenderOverrides,
  clear: readonly RenderOverrideKey[] = [],
): Promise<{
  orderId: string;
  orderNumber: string;
  status: OrderStatus;
  previous: RenderOverrides;
  renderOverrides: RenderOverrides;
}> {
  const { order, previous, next } = await planRenderOverrides(em, tenantId, ref, overrides, clear, { forUpdate: true });
  await db(em)
    .updateTable('render_order')
    .set({ renderOverrides: next, updatedAt: sql<Date>`now()` })
    .where('tenant', '=', tenantId)
    .where('id', '=', order.id)
    .execute();
  return { orderId: order.id, orderNumber: order.orderNumber, status: order.status, previous, renderOverrides: next };
}

function assertEditable(order: OrderRow): void {
  if (order.status === 'completed' || order.status === 'cancelled') {
    throw new UserInputError(
      'invalid_status',
      `${order.orderNumber} is ${order.status}; its settings can no longer be changed. Create a new order instead.`,
    );
  }
}

function isNoMaterial(name: string | null | undefined): boolean {
  return name === null || name === undefined || name.trim() === '' || name.trim().toLowerCase() === noMaterialOverride;
}

/** A list for messages: at most `max` items, then "and N more" (`total` when items is only a prefix). */
function listSome(items: string[], max = 10, total = items.length): string {
  const shown = items.slice(0, max);
  return total > shown.length ? `${shown.join(', ')} and ${total - shown.length} more` : shown.join(', ');
}

const uuidRegex = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;

/** A row of `resolveProducts`'s query. */
const resolveProductsRow = z.object({
  ref: z.string(),
  id: z.string().nullable(),
  pim_id: z.string().nullable(),
  name: z.string().nullable(),
});

/**
 * Resolves product uuids or PIM ids of `tenantId` in one query (a PIM id match wins over an
 * id match). Duplicates, also two refs to the same product, count once. Any unknown ref →
 * 'product_not_found' naming them; another tenant's product counts as unknown.
 */
async function resolveProducts(em: EntityManager, tenantId: string, refs: string[]): Promise<ResolvedProducts> {
  const unique = [...new Set(refs.map((r) => r.trim()).filter((r) => r !== ''))];
  if (unique.length === 0)
    throw new UserInputError(
      'product_not_found',
      'No products were given; pass product ids or PIM ids from search_products.',
    );
  if (unique.length > maxOrderProducts) {
    throw new UserInputError(
      'too_many_products',
      `An order can hold at most ${maxOrderProducts} products; ${unique.length} were given. Split it into several orders.`,
    );
  }
  const found = await rows(
    em,
    resolveProductsRow,
    `select r.ref, coalesce(a.id, b.id) as id, coalesce(a.pim_id, b.pim_id) as pim_id, coalesce(a.name, b.name) as name
     from jsonb_array_elements_text(?::jsonb) with ordinality as r(ref, ord)
     left join product a on a.tenant_id = ? and a.pim_id = r.ref
     left join product b on b.tenant_id = ? and b.id = (case when r.ref ~ ${uuidRegex} then r.ref::uuid end)
     order by r.ord`,
    [JSON.stringify(unique), tenantId, tenantId],
  );
  const missing = found.filter((r) => r.id === null).map((r) => r.ref);
  if (missing.length > 0) {
    throw new UserInputError(
      'product_not_found',
      `${missing.length} of ${unique.length} products ${missing.length === 1 ? 'was' : 'were'} not found: ${listSome(missing)}. Use product ids or PIM ids from search_products.`,
    );
  }
  const ids = new Set<string>();
  const sample: ResolvedProducts['sample'] = [];
  for (const r of found) {
    if (r.id === null || ids.has(r.id)) continue;
    ids.add(r.id);
    if (sample.length < 5) sample.push({ pimId: r.pim_id ?? '', name: r.name ?? '' });
  }
  return { count: ids.size, ids: [...ids], sample };
}

/** Finds an output type of `tenantId` by name (case-insensitive); the error lists the available ones. */
async function resolveOutputType(em: EntityManager, tenantId: string, name: string): Promise<OutputTypeRef> {
  const found = await db(em)
    .selectFrom('output_type')
    .select(['id', 'name', 'format', 'width', 'height'])
    .where('tenant', '=', tenantId)
    .where(sql<string>`lower(name)`, '=', sql<string>`lower(${name.trim()})`)
    .executeTakeFirst();
  if (found) return found;
  const names = await namesOf(em, 'output_type', tenantId);
  const available = names ? `Available output types: ${names}.` : 'This tenant has no output types yet.';
  throw new UserInputError('output_type_not_found', `Unknown output type "${name.trim()}". ${available}`);
}

/** Finds a material of `tenantId` by name (case-insensitive); the error lists the available ones. */
async function resolveMaterial(em: EntityManager, tenantId: string, name: string): Promise<MaterialRef> {
  const found = await db(em)
    .selectFrom('material')
    .select(['id', 'name'])
    .where('tenant', '=', tenantId)
    .where(sql<string>`lower(name)`, '=', sql<string>`lower(${name.trim()})`)
    .executeTakeFirst();
  if (found) return found;
  const names = await namesOf(em, 'material', tenantId);
  const available = names ? `Available materials: ${names}.` : 'This tenant has no materials yet.';
  throw new UserInputError('material_not_found', `Unknown material "${name.trim()}". ${available}`);
}

/** Up to 20 names of the tenant's output types or materials as "A, B and N more"; '' when none. */
async function namesOf(em: EntityManager, table: 'output_type' | 'material', tenantId: string): Promise<string> {
  const named = await db(em)
    .selectFrom(table)
    .select(['name', sql<string>`count(*) over ()`.as('total')])
    .where('tenant', '=', tenantId)
    .orderBy(sql`lower(name)`)
    .limit(20)
    .execute();
  const total = Number(named[0]?.total ?? 0);
  return listSome(
    named.map((r) => r.name),
    20,
    total,
  );
}
