import type { Logger } from '../logger.ts';
import { createChatModel, type ChatModel, type ChatModelOptions } from './client.ts';
import { readTenantAi, type StoredAi } from './settings.ts';

/** Chat models a process keeps for reuse (one per tenant configuration in use). */
const MAX_MODELS = 1000;
/** How long an unused model is kept: a replaced or revoked key does not stay in memory much longer. */
const MODEL_IDLE_MS = 10 * 60_000;

/**
 * Resolves a tenant's chat model from its stored AI settings (key decrypted only here), or
 * undefined when the tenant has none configured. A model is made once per stored configuration
 * and reused while it is in use: the stored key is encrypted with a fresh IV each time it is
 * set, so a changed key or setting is a new configuration and never finds an old client; models
 * unused for MODEL_IDLE_MS are dropped.
 */
export function createModelProvider(
  secretsKey: Buffer,
  log: Logger,
  { now = Date.now, ...modelOpts }: Omit<ChatModelOptions, 'log'> & { now?: () => number } = {},
) {
  /** Least recently used first (an entry is moved to the end when used). */
  const models = new Map<string, { model: ChatModel; usedAt: number }>();
  const dropIdle = (at: number) => {
    for (const [key, entry] of models) {
      if (at - entry.usedAt < MODEL_IDLE_MS && models.size < MAX_MODELS) break;
      models.delete(key);
    }
  };
  return (ai: StoredAi): ChatModel | undefined => {
    if (!ai.aiKeyEncrypted) return undefined;
    const at = now();
    const key = `${ai.aiKeyEncrypted}\n${ai.aiProvider}\n${JSON.stringify(ai.aiSettings)}`;
    const known = models.get(key);
    models.delete(key);
    dropIdle(at);
    if (known && at - known.usedAt < MODEL_IDLE_MS) {
      models.set(key, { model: known.model, usedAt: at });
      return known.model;
    }
    const tenantAi = readTenantAi(secretsKey, ai);
    if (!tenantAi) return undefined;
    const model = createChatModel(tenantAi.settings, tenantAi.apiKey, {
      ...modelOpts,
      log: log.child({ component: 'llm' }),
    });
    models.set(key, { model, usedAt: at });
    return model;
  };
}
