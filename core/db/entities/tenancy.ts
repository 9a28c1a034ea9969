import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { roles, platforms, linkPlatforms, roleSources } from '../../enums.ts';

/** Where a tenant's renders run: the built-in preview renderer or an HTTP render farm (core/renders/backends.ts). */
const rendererBackends = ['local', 'http'] as const;

/**
 * A manufacturer using the render SaaS. `aiKeyEncrypted` and `rendererSecretEncrypted` are
 * AES-256-GCM ciphertext (core/secrets.ts). A tenant's concurrent model calls are capped by
 * `aiMaxConcurrency`, lowered to `aiThrottleCap` until `aiThrottledUntil` after a 429.
 */
export const Tenant = defineEntity({
  name: 'Tenant',
  tableName: 'tenant',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    slug: p.text().unique().check(`slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'`),
    name: p.text(),
    aiProvider: p.enum(['azure', 'openai'] as const).nullable(),
    /** Provider settings without the key; validated by core/llm/settings.ts on every read. */
    aiSettings: p.json<unknown>().nullable(),
    aiKeyEncrypted: p.text().nullable().lazy(),
    monthlyTokenLimit: p.bigint('number').nullable().check('monthly_token_limit >= 0'),
    createdAt: p.datetime().defaultRaw('now()'),
    rendererBackend: p.enum(rendererBackends).default('local'),
    rendererUrl: p.text().nullable(),
    rendererSecretEncrypted: p.text().nullable().lazy(),
    rendererPrivateNetwork: p.boolean().default(false),
    aiMaxConcurrency: p.integer().default(256).check('ai_max_concurrency >= 1 and ai_max_concurrency <= 100000'),

    aiThrottleCap: p.integer().nullable(),
    aiThrottledUntil: p.datetime().nullable(),
  },
  checks: [
    {
      name: 'tenant_renderer_http_check',
      expression: `renderer_backend <> 'http' or (renderer_url is not null and renderer_secret_encrypted is not null)`,
    },
  ],
});
export type Tenant = InferEntity<typeof Tenant>;

/** Slack team / enterprise id or Teams AAD tenant id → RenderBot tenant. */
export const PlatformLink = defineEntity({
  name: 'PlatformLink',
  tableName: 'platform_link',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    platform: p.enum(linkPlatforms),
    externalId: p.text(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  uniques: [{ properties: ['platform', 'externalId'] }],
  indexes: [{ name: 'platform_link_tenant_idx', properties: ['tenant'] }],
});
export type PlatformLink = InferEntity<typeof PlatformLink>;

/**
 * A person of a tenant on one platform, with a role: a `default` one follows what the platform
 * says about the person (core/tenancy/users.ts ensureUser), an `admin` one is kept.
 */
export const TenantUser = defineEntity({
  name: 'TenantUser',
  tableName: 'tenant_user',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    platform: p.enum(platforms),
    externalUserId: p.text(),
    displayName: p.text().nullable(),
    role: p.enum(roles),
    roleSource: p.enum(roleSources).default('default'),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  uniques: [{ properties: ['tenant', 'platform', 'externalUserId'] }],
});
export type TenantUser = InferEntity<typeof TenantUser>;

/** One-time link code; only its SHA-256 hash is stored. */
export const LinkCode = defineEntity({
  name: 'LinkCode',
  tableName: 'link_code',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    codeHash: p.text().unique(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    usedBy: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type LinkCode = InferEntity<typeof LinkCode>;

/** A web API token bound to a tenant, user and role; only its SHA-256 hash is stored. */
export const ApiToken = defineEntity({
  name: 'ApiToken',
  tableName: 'api_token',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    userId: p.text(),
    role: p.enum(roles),
    label: p.text().nullable(),
    tokenHash: p.text().unique(),
    createdAt: p.datetime().defaultRaw('now()'),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
  indexes: [{ name: 'api_token_tenant_idx', columns: [{ name: 'tenant_id' }, { name: 'created_at', sort: 'desc' }] }],
});
export type ApiToken = InferEntity<typeof ApiToken>;

/** A one-time web login link that mints an API token; only its SHA-256 hash is stored. */
export const WebLoginCode = defineEntity({
  name: 'WebLoginCode',
  tableName: 'web_login_code',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    userId: p.text(),
    role: p.enum(roles),
    codeHash: p.text().unique(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type WebLoginCode = InferEntity<typeof WebLoginCode>;

/**
 * A Slack OAuth installation (workspace or enterprise). The Bolt installation with its tokens
 * is only stored encrypted (`installationEncrypted`); the plain columns serve lookups.
 */
export const SlackInstallation = defineEntity({
  name: 'SlackInstallation',
  tableName: 'slack_installation',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    installKey: p.text().unique(),
    teamId: p.text().nullable(),
    teamName: p.text().nullable(),
    enterpriseId: p.text().nullable(),
    isEnterpriseInstall: p.boolean().default(false),
    appId: p.text().nullable(),
    botUserId: p.text().nullable(),
    botId: p.text().nullable(),
    installedBy: p.text().nullable(),
    installationEncrypted: p.text().lazy(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
    refreshClaim: p.text().nullable(),
    refreshClaimUntil: p.datetime().nullable(),
    refreshFailedAt: p.datetime().nullable(),
    refreshError: p.text().nullable(),
  },
  indexes: [{ name: 'slack_installation_team_idx', properties: ['teamId'] }],
});
export type SlackInstallation = InferEntity<typeof SlackInstallation>;
