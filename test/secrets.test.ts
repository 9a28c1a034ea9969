import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { row as readRow } from './support/rows.ts';
import { ConfigError, RenderBotError, UserInputError } from '../core/errors.ts';
import { decryptSecret, encryptSecret } from '../core/secrets.ts';
import {
  aiSettingsSchema,
  describeTenantAi,
  loadTenantAi,
  setTenantAi,
  type AiSettings,
} from '../core/llm/settings.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

const key = randomBytes(32);
const apiKey = 'sk-live-0123456789abcdefSECRET';

function thrown(fn: () => unknown): RenderBotError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RenderBotError);
    return err as RenderBotError;
  }
  throw new Error('expected a throw');
}

describe('secrets', () => {
  it('round-trips, in the v1 format, with a fresh IV each time', () => {
    const blob = encryptSecret(key, apiKey);
    expect(blob).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(blob).not.toContain(apiKey);
    expect(decryptSecret(key, blob)).toBe(apiKey);
    expect(encryptSecret(key, apiKey)).not.toBe(blob);
    expect(decryptSecret(key, encryptSecret(key, 'ünïcødé ✓'))).toBe('ünïcødé ✓');
    expect(Buffer.from(blob.split(':')[1] ?? '', 'base64')).toHaveLength(12);
  });

  it('detects tampering with ciphertext, tag or IV', () => {
    const [v, iv, tag, data] = encryptSecret(key, apiKey).split(':') as [string, string, string, string];
    const flip = (b64: string) => {
      const buf = Buffer.from(b64, 'base64');
      buf[0] = (buf[0] ?? 0) ^ 1;
      return buf.toString('base64');
    };
    for (const blob of [
      [v, iv, tag, flip(data)],
      [v, iv, flip(tag), data],
      [v, flip(iv), tag, data],
    ].map((p) => p.join(':'))) {
      const err = thrown(() => decryptSecret(key, blob));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.code).toBe('secret_undecryptable');
    }
  });

  it('a wrong key says SECRETS_KEY probably changed, without leaking the blob or the key', () => {
    const blob = encryptSecret(key, apiKey);
    const other = randomBytes(32);
    const err = thrown(() => decryptSecret(other, blob));
    expect(err.code).toBe('secret_undecryptable');
    expect(err.message).toContain('SECRETS_KEY probably changed');
    for (const secret of [
      blob,
      ...blob.split(':').slice(1),
      other.toString('base64'),
      other.toString('hex'),
      key.toString('base64'),
      apiKey,
    ]) {
      expect(err.message).not.toContain(secret);
    }
  });

  it('rejects malformed blobs and keys of the wrong size', () => {
    for (const blob of ['', 'v2:a:b:c', 'v1:only:three', 'plaintext-key']) {
      expect(thrown(() => decryptSecret(key, blob)).code).toBe('secret_undecryptable');
    }
    expect(thrown(() => encryptSecret(randomBytes(16), apiKey)).code).toBe('config_invalid');
  });
});

describe('tenant AI settings', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  const azure: AiSettings = {
    provider: 'azure',
    endpoint: 'https://acme.openai.azure.com',
    deployment: 'gpt-4o',
    apiVersion: '2024-10-21',
  };
  const openai: AiSettings = { provider: 'openai', baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-mini' };

  it('stores the key only encrypted: no column of the row contains it', async () => {
    const em = db.orm.em.fork();
    const tenant = await createTenant(em, { slug: 'secrets-a', name: 'A' });
    await setTenantAi(em, key, tenant.id, azure, apiKey);
    const row = await readRow(
      em,
      z.object({ provider: z.string(), settings: z.unknown(), enc: z.string(), whole: z.string() }),
      `select ai_provider as provider, ai_settings as settings, ai_key_encrypted as enc, row_to_json(t)::text as whole from tenant t where id = ?`,
      [tenant.id],
    );
    expect(row?.provider).toBe('azure');
    expect(row?.settings).toEqual(azure);
    expect(row?.enc).toMatch(/^v1:/);
    expect(row?.whole).not.toContain(apiKey);
    expect(row?.whole).not.toContain(apiKey.slice(4, 20));
  });

  it('loadTenantAi round-trips both providers and is undefined when unset', async () => {
    const em = db.orm.em.fork();
    const tenant = await createTenant(em, { slug: 'secrets-b', name: 'B' });
    expect(await loadTenantAi(em, key, tenant.id)).toBeUndefined();
    await setTenantAi(em, key, tenant.id, azure, `  ${apiKey}\n`);
    expect(await loadTenantAi(em, key, tenant.id)).toEqual({ settings: azure, apiKey });
    await setTenantAi(em, key, tenant.id, openai, 'sk-other');
    expect(await loadTenantAi(em, key, tenant.id)).toEqual({ settings: openai, apiKey: 'sk-other' });
    expect(await loadTenantAi(em, key, '00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('a changed SECRETS_KEY surfaces as secret_undecryptable', async () => {
    const em = db.orm.em.fork();
    const tenant = await createTenant(em, { slug: 'secrets-c', name: 'C' });
    await setTenantAi(em, key, tenant.id, openai, apiKey);
    const err = await loadTenantAi(em, randomBytes(32), tenant.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('secret_undecryptable');
  });

  it('rejects invalid settings, keys hidden in settings, empty keys and unknown tenants', async () => {
    const em = db.orm.em.fork();
    const tenant = await createTenant(em, { slug: 'secrets-d', name: 'D' });
    const bad: unknown[] = [
      { ...azure, apiKey },
      { ...azure, endpoint: 'ftp://acme' },
      { ...azure, endpoint: `https://user:${apiKey}@acme.openai.azure.com` },
      { ...openai, baseUrl: `https://proxy.example/v1?key=${apiKey}` },
      { provider: 'anthropic', model: 'x' },
      { ...azure, deployment: '' },
    ];
    for (const settings of bad) {
      expect(aiSettingsSchema.safeParse(settings).success).toBe(false);
      const err = await setTenantAi(em, key, tenant.id, settings as AiSettings, apiKey).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UserInputError);
      expect((err as UserInputError).message).not.toContain(apiKey);
    }
    await expect(setTenantAi(em, key, tenant.id, azure, '   ')).rejects.toBeInstanceOf(UserInputError);
    await expect(setTenantAi(em, key, '00000000-0000-4000-8000-000000000000', azure, apiKey)).rejects.toMatchObject({
      code: 'tenant_not_found',
    });
    expect(await loadTenantAi(em, key, tenant.id)).toBeUndefined();
  });

  it('describeTenantAi summarises without the key', () => {
    expect(describeTenantAi(azure)).toBe(
      'Azure OpenAI at https://acme.openai.azure.com, deployment gpt-4o, api-version 2024-10-21',
    );
    expect(describeTenantAi(openai)).toBe('OpenAI-compatible API at https://api.openai.com/v1, model gpt-4o-mini');
  });
});
