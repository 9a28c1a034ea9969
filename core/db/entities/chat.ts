import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant } from './tenancy.ts';
import { platforms } from '../../tenancy/roles.ts';

/** One conversation thread (DESIGN §3); `key` is platform-specific, unique among active sessions. */
export const ChatSession = defineEntity({
  name: 'ChatSession',
  tableName: 'chat_session',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    platform: p.enum(platforms),
    key: p.string(),
    title: p.string().nullable(),
    context: p.json<Record<string, unknown>>(),
    summary: p.text().nullable(),
    summaryUpto: p.bigint('number').default(0),
    createdBy: p.string().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    lastActiveAt: p.datetime().defaultRaw('now()'),
    archivedAt: p.datetime().nullable(),
  },
});
export type ChatSession = InferEntity<typeof ChatSession>;
