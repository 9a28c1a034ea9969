import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant } from './tenancy.ts';

/** A product of a tenant's PIM. */
export const Product = defineEntity({
  name: 'Product',
  tableName: 'product',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    pimId: p.string(),
    name: p.string(),
    category: p.string(),
    materialName: p.string().nullable(),
    attributes: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type Product = InferEntity<typeof Product>;

/** A material (e.g. "Steel-Bare") that renders can apply. */
export const Material = defineEntity({
  name: 'Material',
  tableName: 'material',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    name: p.string(),
    description: p.string().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type Material = InferEntity<typeof Material>;

/** An output type such as "WebP 1024x1024". */
export const OutputType = defineEntity({
  name: 'OutputType',
  tableName: 'output_type',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    name: p.string(),
    format: p.enum(['webp', 'png', 'jpeg'] as const),
    width: p.integer(),
    height: p.integer(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type OutputType = InferEntity<typeof OutputType>;
