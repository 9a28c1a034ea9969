import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Material, OutputType, Product } from './catalogue.ts';
import { Tenant } from './tenancy.ts';
import { jobStatuses, orderStatuses } from '../../pipeline/statuses.ts';

/** A render order (`SA-<year>-<5 digits>`, unique per tenant). Table `render_order`. */
export const Order = defineEntity({
  name: 'Order',
  tableName: 'render_order',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    orderNumber: p.string(),
    status: p.enum(orderStatuses),
    outputType: p.manyToOne(OutputType),
    materialOverride: p.manyToOne(Material).nullable(),
    renderOverrides: p.json<Record<string, unknown>>(),
    notes: p.text().nullable(),
    createdBy: p.string().nullable(),
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
});
export type Order = InferEntity<typeof Order>;

/** One product in an order. */
export const OrderItem = defineEntity({
  name: 'OrderItem',
  tableName: 'order_item',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    order: p.manyToOne(Order),
    product: p.manyToOne(Product),
  },
});
export type OrderItem = InferEntity<typeof OrderItem>;

/** One image to render for one order item. */
export const RenderJob = defineEntity({
  name: 'RenderJob',
  tableName: 'render_job',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    order: p.manyToOne(Order),
    orderItem: p.manyToOne(OrderItem),
    product: p.manyToOne(Product),
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
});
export type RenderJob = InferEntity<typeof RenderJob>;
