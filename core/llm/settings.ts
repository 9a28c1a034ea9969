import { z } from 'zod';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { ConfigError, UserInputError } from '../errors.ts';
import { decryptSecret, encryptSecret } from '../secrets.ts';
import { storeTenantAi, type StoredAi } from '../tenancy/tenants.ts';

export type { StoredAi };

/** http(s) only; no userinfo, query or fragment, so nothing secret can hide in the stored URL. */
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).refine((value) => {
  const url = new URL(value);
  return !url.username && !url.password && !url.search && !url.hash;
}, 'must not contain credentials, a query or a fragment');
const name = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._:/-]{1,128}$/, 'use letters, digits, dots, dashes, underscores, colons or slashes');

/** Azure OpenAI: `https://<resource>.openai.azure.com`, a deployment name and an api-version. */
const azureAiSettingsSchema = z.strictObject({
  provider: z.literal('azure'),
  endpoint: httpUrl.describe('Resource endpoint, e.g. https://my-resource.openai.azure.com'),
  deployment: name.describe('Deployment name, e.g. gpt-4o'),
  apiVersion: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.-]{1,40}$/, 'e.g. 2024-10-21')
    .describe('api-version query value'),
});

/** Any OpenAI-compatible Chat Completions API: base URL (ending in /v1 for OpenAI itself) and a model. */
const openAiSettingsSchema = z.strictObject({
  provider: z.literal('openai'),
  baseUrl: httpUrl.describe('API base URL, e.g. https://api.openai.com/v1'),
  model: name.describe('Model name, e.g. gpt-4o-mini'),
});

/**
 * A tenant's non-secret AI settings, stored as `tenant.ai_settings` jsonb. Strict objects: an
 * `apiKey` (or any other extra field) is rejected, so the key can never end up in the jsonb.
 */
export const aiSettingsSchema = z.discriminatedUnion('provider', [azureAiSettingsSchema, openAiSettingsSchema]);

/** Provider settings without the key; see `aiSettingsSchema`. */
export type AiSettings = z.infer<typeof aiSettingsSchema>;
/** Decrypted settings plus key; only `core/llm` should hold this. */
export type TenantAi = { settings: AiSettings; apiKey: string };

/**
 * Validates and stores a tenant's AI configuration: provider column, settings jsonb (no key) and
 * the API key encrypted with `key` (AES-256-GCM). Invalid settings or an empty key throw a
 * UserInputError naming the field; an unknown tenant throws UserInputError `tenant_not_found`.
 */
export async function setTenantAi(
  em: EntityManager,
  key: Buffer,
  tenantId: string,
  settings: AiSettings,
  apiKey: string,
): Promise<void> {
  const parsed = aiSettingsSchema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserInputError(
      'ai_settings_invalid',
      `AI setting "${issue?.path.join('.') || 'settings'}" is invalid: ${issue?.message ?? 'unknown problem'}`,
    );
  }
  const trimmedKey = apiKey.trim();
  if (!trimmedKey) throw new UserInputError('ai_settings_invalid', 'The AI API key must not be empty.');
  const stored = await storeTenantAi(em, tenantId, {
    aiProvider: parsed.data.provider,
    aiSettings: parsed.data,
    aiKeyEncrypted: encryptSecret(key, trimmedKey),
  });
  if (!stored)
    throw new UserInputError('tenant_not_found', 'No such tenant. List them with: renderbot admin tenant list');
}

/** The model (OpenAI) or deployment (Azure) a stored configuration asks, or null when there is none or it no longer validates. */
export function storedModelName(ai: StoredAi): string | null {
  const parsed = aiSettingsSchema.safeParse(ai.aiSettings);
  if (!parsed.success) return null;
  return parsed.data.provider === 'azure' ? parsed.data.deployment : parsed.data.model;
}

/**
 * Loads and decrypts a tenant's AI configuration; `undefined` when the tenant has none (or does
 * not exist). See `readTenantAi` for invalid settings and keys.
 */
export async function loadTenantAi(em: EntityManager, key: Buffer, tenantId: string): Promise<TenantAi | undefined> {
  const row = await db(em)
    .selectFrom('tenant')
    .select(['aiProvider', 'aiSettings', 'aiKeyEncrypted'])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  return row ? readTenantAi(key, row) : undefined;
}

/** Stored settings as read back: any object; `aiSettingsSchema` checks its fields. */
const storedSettingsObject = z.record(z.string(), z.unknown());

/**
 * Validates and decrypts a stored AI configuration; `undefined` when there is none. Stored
 * settings that no longer validate throw ConfigError `ai_settings_invalid`; a key that cannot be
 * decrypted throws ConfigError `secret_undecryptable` (see `decryptSecret`).
 */
export function readTenantAi(key: Buffer, row: StoredAi): TenantAi | undefined {
  if (!row.aiProvider || row.aiSettings == null || !row.aiKeyEncrypted) return undefined;
  const stored = storedSettingsObject.safeParse(row.aiSettings);
  const parsed = aiSettingsSchema.safeParse({ ...(stored.success ? stored.data : {}), provider: row.aiProvider });
  if (!parsed.success) {
    throw new ConfigError(
      'ai_settings_invalid',
      "The tenant's stored AI settings are invalid; ask an admin to run: renderbot admin tenant ai …",
    );
  }
  return { settings: parsed.data, apiKey: decryptSecret(key, row.aiKeyEncrypted) };
}

/** One-line, key-free summary of settings for the CLI and admin replies. */
export function describeTenantAi(settings: AiSettings): string {
  if (settings.provider === 'azure') {
    return `Azure OpenAI at ${safeUrl(settings.endpoint)}, deployment ${settings.deployment}, api-version ${settings.apiVersion}`;
  }
  return `OpenAI-compatible API at ${safeUrl(settings.baseUrl)}, model ${settings.model}`;
}

/** Origin and path only (defence in depth: the schema already rejects userinfo and queries). */
function safeUrl(value: string): string {
  const url = new URL(value);
  return `${url.origin}${url.pathname === '/' ? '' : url.pathname}`;
}
