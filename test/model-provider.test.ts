import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createModelProvider } from '../core/llm/provider.ts';
import { encryptSecret } from '../core/secrets.ts';
import type { StoredAi } from '../core/llm/settings.ts';
import { silentLog } from './support/core.ts';

/*
 * The model provider (core/llm/provider.ts) makes a tenant's chat model from the stored AI
 * columns once and reuses it while it is in use; a changed key or setting never finds the old
 * client, and an idle one is dropped so a replaced key does not linger in memory.
 */
const secretsKey = randomBytes(32);
const settings = { baseUrl: 'https://llm.example.test/v1', model: 'gpt-4o-mini' };
const stored = (apiKey: string, model = settings.model): StoredAi => ({
  aiProvider: 'openai',
  aiSettings: { ...settings, model },
  aiKeyEncrypted: encryptSecret(secretsKey, apiKey),
});

describe('model provider', () => {
  it('reuses the model of one stored configuration; a new key, a new setting or a long idle time make a new one', () => {
    let clock = 0;
    const models = createModelProvider(secretsKey, silentLog, { now: () => clock });
    const a = stored('sk-first');
    const first = models(a);
    expect(first).toBeDefined();
    expect(models({ ...a })).toBe(first);
    // Setting the same key again stores a new ciphertext (fresh IV): a new configuration.
    expect(models(stored('sk-first'))).not.toBe(first);
    expect(models({ ...a, aiSettings: { ...settings, model: 'gpt-4o' } })).not.toBe(first);
    clock += 5 * 60_000;
    expect(models(a)).toBe(first);
    clock += 11 * 60_000;
    expect(models(a)).not.toBe(first);
  });

  it('has no model for a tenant without AI, and refuses a key it cannot decrypt', () => {
    const models = createModelProvider(secretsKey, silentLog);
    expect(models({ aiProvider: null, aiSettings: null, aiKeyEncrypted: null })).toBeUndefined();
    const foreign = { ...stored('sk-x'), aiKeyEncrypted: encryptSecret(randomBytes(32), 'sk-x') };
    expect(() => models(foreign)).toThrow(/decrypt/i);
  });
});
