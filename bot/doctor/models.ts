import { RenderBotError } from '../../core/errors.ts';
import { createChatModel } from '../../core/llm/client.ts';
import { describeTenantAi } from '../../core/llm/settings.ts';
import type { Logger } from '../../core/logger.ts';
import { fail, ok, reasonOf, skip, type CheckLine } from './report.ts';
import type { OpenTenant } from './secrets.ts';

/**
 * Asks each tenant's model for a one-token answer through its model client (one attempt, no
 * retries, `timeoutMs`), concurrently; one line per tenant, in the tenants' order.
 */
export function checkModels(tenants: OpenTenant[], log: Logger, timeoutMs: number): Promise<CheckLine[]> {
  return Promise.all(tenants.map((t) => checkModel(t, log, timeoutMs)));
}

async function checkModel(t: OpenTenant, log: Logger, timeoutMs: number): Promise<CheckLine> {
  const what = `model of tenant ${t.slug}`;
  const setAgain = `set it again: renderbot admin tenant ai --tenant ${t.slug} …`;
  if (!t.ai) return skip(what, `no AI configured (renderbot admin tenant ai --tenant ${t.slug} …)`);
  if ('unusable' in t.ai) {
    return t.ai.unusable === 'undecryptable'
      ? skip(what, 'its API key cannot be decrypted (see SECRETS_KEY)')
      : fail(what, 'the stored AI settings are invalid', setAgain);
  }
  const where = describeTenantAi(t.ai.settings);
  const model = createChatModel(t.ai.settings, t.ai.apiKey, { timeoutMs, maxAttempts: 1, log });
  try {
    await model.complete({ messages: [{ role: 'user', content: 'Say OK.' }], maxTokens: 1, rateLimits: 'throw' });
    return ok(`${what} answers`, where);
  } catch (err) {
    const code = err instanceof RenderBotError ? err.code : undefined;
    switch (code) {
      case 'llm_rate_limited':
      case 'llm_content_filter':
        return ok(
          `${what} answers`,
          `${where}; it answered ${code === 'llm_rate_limited' ? '429 (rate-limited right now)' : 'with its content filter'}`,
        );
      case 'llm_auth':
        return fail(
          what,
          `the provider refused the API key (${where})`,
          `store the right key: renderbot admin tenant ai --tenant ${t.slug} … --api-key …`,
        );
      case 'llm_not_found':
        return fail(
          what,
          `the provider does not know this model or deployment (${where})`,
          `check the model, deployment and URL: renderbot admin tenant ai --tenant ${t.slug} …`,
        );
      case 'llm_quota':
        return fail(what, `no quota left (${where})`, "check the AI provider account's billing and limits");
      case 'llm_rejected':
        return fail(
          what,
          `${reasonOf(err)} (${where})`,
          `check the settings: renderbot admin tenant ai --tenant ${t.slug} …`,
        );
      default:
        return fail(
          what,
          `no answer: ${reasonOf(err instanceof Error && err.cause ? err.cause : err)} (${where})`,
          'check the endpoint URL and that the provider is reachable from here',
        );
    }
  }
}
