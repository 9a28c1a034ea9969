import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { roles, platforms, linkPlatforms } from '../../tenancy/roles.ts';

/** A manufacturer using the render SaaS. `aiKeyEncrypted` is AES-256-GCM ciphertext (core/llm/secrets). */
export const Tenant = defineEntity({
  name: 'Tenant',
  tableName: 'tenant',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    slug: p.string().unique(),
    name: p.string(),
    aiProvider: p.enum(['azure', 'openai'] as const).nullable(),
    aiSettings: p.json<Record<string, string>>().nullable(),
    aiKeyEncrypted: p.text().nullable().lazy(),
    monthlyTokenLimit: p.bigint('number').nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type Tenant = InferEntity<typeof Tenant>;

/** Slack team / enterprise id or Teams AAD tenant id → RenderBot tenant. */
export const PlatformLink = defineEntity({
  name: 'PlatformLink',
  tableName: 'platform_link',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    platform: p.enum(linkPlatforms),
    externalId: p.string(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type PlatformLink = InferEntity<typeof PlatformLink>;

/** A person of a tenant on one platform, with a role. */
export const TenantUser = defineEntity({
  name: 'TenantUser',
  tableName: 'tenant_user',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    platform: p.enum(platforms),
    externalUserId: p.string(),
    displayName: p.string().nullable(),
    role: p.enum(roles),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type TenantUser = InferEntity<typeof TenantUser>;

/** One-time link code; only its SHA-256 hash is stored. */
export const LinkCode = defineEntity({
  name: 'LinkCode',
  tableName: 'link_code',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant),
    codeHash: p.string().unique(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    usedBy: p.string().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type LinkCode = InferEntity<typeof LinkCode>;
