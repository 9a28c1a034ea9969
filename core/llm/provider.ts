import type { Logger } from '../logger.ts';
import { createChatModel, type ChatModel, type ChatModelOptions } from './client.ts';
import { readTenantAi, type StoredAi } from './settings.ts';

/** Chat models a process keeps for reuse (one per tenant configuration in use). */
const MAX_MODELS = 1000;

/**
 * Resolves a tenant's chat model from its stored AI settings (key decrypted only here), or
 * undefined when the tenant has none configured. A model is made once per stored configuration
 * and reused: the stored key is encrypted with a fresh IV each time it is set, so a changed key
 * or setting is a new configuration and never finds an old client.
 */
export function createModelProvider(secretsKey: Buffer, log: Logger, opts: Omit<ChatModelOptions, 'log'> = {}) {
  const models = new Map<string, ChatModel>();
  return (ai: StoredAi): ChatModel | undefined => {
    if (!ai.aiKeyEncrypted) return undefined;
    const key = `${ai.aiKeyEncrypted}\n${ai.aiProvider}\n${JSON.stringify(ai.aiSettings)}`;
    const known = models.get(key);
    if (known) return known;
    const tenantAi = readTenantAi(secretsKey, ai);
    if (!tenantAi) return undefined;
    const model = createChatModel(tenantAi.settings, tenantAi.apiKey, { ...opts, log: log.child({ component: 'llm' }) });
    if (models.size >= MAX_MODELS) models.delete(models.keys().next().value!);
    models.set(key, model);
    return model;
  };
}
