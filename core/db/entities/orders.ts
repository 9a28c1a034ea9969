import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Material, OutputType, Product } from './catalogue.ts';
import { Tenant } from './tenancy.ts';
import { jobStatuses, orderStatuses } from '../../enums.ts';

/** A render order (`SA-<year>-<5 digits>`, unique per tenant). Table `render_order`. */
export const Order = defineEntity({
  name: 'Order',
  tableName: 'render_order',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    orderNumber: p.text().check(`order_number ~ '^SA-[0-9]{4}-[0-9]{5}$'`),
    status: p.enum(orderStatuses),
    outputType: p.manyToOne(OutputType).deleteRule('no action'),
    materialOverride: p.manyToOne(Material).nullable().deleteRule('no action'),
    renderOverrides: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    notes: p.text().nullable(),
    createdBy: p.text().nullable(),
    origin: p.json<Record<string, unknown>>().nullable(),
    /** The conversation told about progress and completion (core/notices). */
    notify: p.json<Record<string, unknown>>().nullable(),
    progressMessage: p.json<Record<string, unknown>>().nullable(),
    noticeSentAt: p.datetime().nullable(),
    /** The queue job sending the completion notice right now. */
    noticeClaim: p.text().nullable(),
    /** Bumped by every writer of the progress message (core/notices/tasks.ts). */
    progressSeq: p.integer().default(0),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
    submittedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
  },
  uniques: [{ properties: ['tenant', 'orderNumber'] }],
  indexes: [
    {
      name: 'render_order_tenant_status_idx',
      columns: [{ name: 'tenant_id' }, { name: 'status' }, { name: 'created_at', sort: 'desc' }],
    },
    { name: 'render_order_tenant_created_idx', columns: [{ name: 'tenant_id' }, { name: 'created_at', sort: 'desc' }] },
  ],
});
export type Order = InferEntity<typeof Order>;

/** The last order number handed out per tenant and year (`order_counter`). */
export const OrderCounter = defineEntity({
  name: 'OrderCounter',
  tableName: 'order_counter',
  properties: {
    tenant: p.manyToOne(Tenant).primary().deleteRule('cascade'),
    year: p.integer().primary(),
    lastValue: p.integer(),
  },
});
export type OrderCounter = InferEntity<typeof OrderCounter>;

/** One product in an order. */
export const OrderItem = defineEntity({
  name: 'OrderItem',
  tableName: 'order_item',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    order: p.manyToOne(Order).deleteRule('cascade'),
    product: p.manyToOne(Product).deleteRule('no action'),
    /** The material this product renders with (from an uploaded file), unless the order overrides it. */
    material: p.manyToOne(Material).nullable().deleteRule('set null'),
  },
  uniques: [{ properties: ['order', 'product'] }],
  indexes: [{ name: 'order_item_product_idx', properties: ['product'] }],
});
export type OrderItem = InferEntity<typeof OrderItem>;

/** One image to render for one order item. */
export const RenderJob = defineEntity({
  name: 'RenderJob',
  tableName: 'render_job',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    order: p.manyToOne(Order).deleteRule('cascade'),
    orderItem: p.manyToOne(OrderItem).deleteRule('cascade'),
    product: p.manyToOne(Product).deleteRule('no action'),
    status: p.enum(jobStatuses),
    attempts: p.integer().default(0),
    error: p.text().nullable(),
    resultUrl: p.text().nullable(),
    queuedAt: p.datetime().defaultRaw('now()'),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    /** When a render farm last accepted or acknowledged the current attempt (farm timeout start). */
    farmContactAt: p.datetime().nullable(),
  },
  indexes: [
    { name: 'render_job_order_status_idx', properties: ['order', 'status'] },
    { name: 'render_job_tenant_status_idx', properties: ['tenant', 'status'] },
    {
      name: 'render_job_tenant_finished_idx',
      properties: ['tenant', 'finishedAt'],
      include: ['status', 'startedAt'],
      where: 'finished_at is not null',
    },
    {
      name: 'render_job_farm_contact_idx',
      properties: ['farmContactAt'],
      where: `status = 'running' and farm_contact_at is not null`,
    },
    { name: 'render_job_order_item_idx', properties: ['orderItem'] },
  ],
  // Statement triggers with transition tables keep render_job_tally exact (migration Migration20261206000400_render_job_tally).
  triggers: (['insert', 'update', 'delete'] as const).map((event) => ({
    name: `render_job_tally_${event}`,
    timing: 'after' as const,
    events: [event],
    forEach: 'statement' as const,
    expression: `create trigger render_job_tally_${event} after ${event} on render_job referencing ${event === 'insert' ? 'new table as new_jobs' : event === 'delete' ? 'old table as old_jobs' : 'old table as old_jobs new table as new_jobs'} for each statement execute function render_job_tally()`,
  })),
});
export type RenderJob = InferEntity<typeof RenderJob>;

/**
 * Deltas of a tenant's render job counts by status and UTC finishing day, with the render
 * seconds of completed jobs; written by triggers on render_job, folded by core/pipeline/tally.ts.
 */
export const RenderJobTally = defineEntity({
  name: 'RenderJobTally',
  tableName: 'render_job_tally',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    status: p.text(),
    finishedDay: p.date().nullable(),
    jobs: p.bigint('number'),
    renderSeconds: p.double().default(0),
    timed: p.bigint('number').defaultRaw('0'),
  },
  indexes: [{ name: 'render_job_tally_tenant_idx', properties: ['tenant', 'finishedDay'] }],
});
export type RenderJobTally = InferEntity<typeof RenderJobTally>;

/** A render farm callback already applied, by job and status (makes callbacks idempotent). */
export const RenderCallback = defineEntity({
  name: 'RenderCallback',
  tableName: 'render_callback',
  properties: {
    job: p.manyToOne(RenderJob).primary().deleteRule('cascade'),
    status: p.enum(['running', 'completed', 'failed'] as const).primary(),
    receivedAt: p.datetime().defaultRaw('now()'),
  },
});
export type RenderCallback = InferEntity<typeof RenderCallback>;
