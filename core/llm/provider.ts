import type { EntityManager } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import { createChatModel, type ChatModel, type ChatModelOptions } from './client.ts';
import { loadTenantAi } from './settings.ts';

/**
 * Resolves a tenant's chat model from its stored AI settings (key decrypted only here), or
 * undefined when the tenant has none configured.
 */
export function createModelProvider(secretsKey: Buffer, log: Logger, opts: Omit<ChatModelOptions, 'log'> = {}) {
  return async (em: EntityManager, tenantId: string): Promise<ChatModel | undefined> => {
    const ai = await loadTenantAi(em, secretsKey, tenantId);
    return ai ? createChatModel(ai.settings, ai.apiKey, { ...opts, log: log.child({ component: 'llm' }) }) : undefined;
  };
}
