import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { queryOne } from '../db/sql.ts';
import { UserInputError } from '../errors.ts';
import { decryptSecret, encryptSecret } from '../llm/secrets.ts';

/** The render backends a tenant can choose. */
export const rendererBackends = ['local', 'http'] as const;
export type RendererBackend = (typeof rendererBackends)[number];

/**
 * A tenant's renderer as the worker needs it; the farm secret only in decrypted form here.
 * `privateNetwork`: the farm runs on a private network and may report `http:` result URLs.
 */
export type TenantRenderer = { backend: 'local' } | { backend: 'http'; url: string; secret: string; privateNetwork: boolean };

/** Validated input of `setTenantRenderer`. */
export const rendererSettingsSchema = z.discriminatedUnion('backend', [
  z.object({ backend: z.literal('local') }),
  z.object({
    backend: z.literal('http'),
    url: z.url(),
    secret: z.string().min(16, 'the shared secret must have at least 16 characters'),
    /** The farm is on a private network: it may be reached, and report results, over plain http. Off unless set. */
    privateNetwork: z.boolean().default(false),
  }).refine((r) => new URL(r.url).protocol === 'https:' || (new URL(r.url).protocol === 'http:' && (r.privateNetwork || ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(r.url).hostname))),
    { message: 'the farm URL must use https (http only for localhost or with --private-network)', path: ['url'] }),
]);
export type RendererSettings = z.input<typeof rendererSettingsSchema>;

/** Stores the tenant's renderer; the farm secret is encrypted with `secretsKey`. */
export async function setTenantRenderer(em: EntityManager, secretsKey: Buffer, tenantId: string, settings: RendererSettings): Promise<void> {
  if (settings.backend === 'local') {
    await em.execute(`update tenant set renderer_backend = 'local', renderer_url = null, renderer_secret_encrypted = null, renderer_private_network = false where id = ?`, [tenantId]);
    return;
  }
  await em.execute(`update tenant set renderer_backend = 'http', renderer_url = ?, renderer_secret_encrypted = ?, renderer_private_network = ? where id = ?`,
    [settings.url, encryptSecret(secretsKey, settings.secret), settings.privateNetwork ?? false, tenantId]);
}

/** The tenant's renderer with its secret decrypted (for the worker and the callback route). */
export async function getTenantRenderer(em: EntityManager, secretsKey: Buffer, tenantId: string): Promise<TenantRenderer> {
  const row = await queryOne<{ renderer_backend: RendererBackend; renderer_url: string | null; renderer_secret_encrypted: string | null; renderer_private_network: boolean }>(em,
    `select renderer_backend, renderer_url, renderer_secret_encrypted, renderer_private_network from tenant where id = ?`, [tenantId]);
  if (!row) throw new UserInputError('tenant_not_found', 'The tenant no longer exists.');
  if (row.renderer_backend === 'http' && row.renderer_url && row.renderer_secret_encrypted) {
    return { backend: 'http', url: row.renderer_url, secret: decryptSecret(secretsKey, row.renderer_secret_encrypted), privateNetwork: row.renderer_private_network };
  }
  return { backend: 'local' };
}
