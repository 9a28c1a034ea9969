import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant } from './tenancy.ts';

/** An idempotency key of one user's chat API request and what it started and answered (core/idempotency.ts). */
export const IdempotencyKey = defineEntity({
  name: 'IdempotencyKey',
  tableName: 'idempotency_key',
  properties: {
    tenant: p.manyToOne(Tenant).primary().deleteRule('cascade'),
    platform: p.text().primary(),
    userId: p.text().primary(),
    key: p.text().primary(),
    fingerprint: p.text(),
    itemId: p.bigint('number').nullable(),
    sessionId: p.uuid().nullable(),
    response: p.json<unknown>().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ name: 'idempotency_key_created_idx', properties: ['createdAt'] }],
});
export type IdempotencyKey = InferEntity<typeof IdempotencyKey>;
