import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { queryOne } from '../db/sql.ts';
import { UserInputError } from '../errors.ts';
import { decryptSecret, encryptSecret } from '../llm/secrets.ts';

/** The render backends a tenant can choose. */
export const rendererBackends = ['local', 'http'] as const;
export type RendererBackend = (typeof rendererBackends)[number];

/** A tenant's renderer as the worker needs it; the farm secret only in decrypted form here. */
export type TenantRenderer = { backend: 'local' } | { backend: 'http'; url: string; secret: string };

/** Validated input of `setTenantRenderer`. */
export const rendererSettingsSchema = z.discriminatedUnion('backend', [
  z.object({ backend: z.literal('local') }),
  z.object({
    backend: z.literal('http'),
    url: z.url().refine((u) => new URL(u).protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname),
      'the farm URL must use https (http only for localhost)'),
    secret: z.string().min(16, 'the shared secret must have at least 16 characters'),
  }),
]);
export type RendererSettings = z.infer<typeof rendererSettingsSchema>;

/** Stores the tenant's renderer; the farm secret is encrypted with `secretsKey`. */
export async function setTenantRenderer(em: EntityManager, secretsKey: Buffer, tenantId: string, settings: RendererSettings): Promise<void> {
  if (settings.backend === 'local') {
    await em.execute(`update tenant set renderer_backend = 'local', renderer_url = null, renderer_secret_encrypted = null where id = ?`, [tenantId]);
    return;
  }
  await em.execute(`update tenant set renderer_backend = 'http', renderer_url = ?, renderer_secret_encrypted = ? where id = ?`,
    [settings.url, encryptSecret(secretsKey, settings.secret), tenantId]);
}

/** The tenant's renderer with its secret decrypted (for the worker and the callback route). */
export async function getTenantRenderer(em: EntityManager, secretsKey: Buffer, tenantId: string): Promise<TenantRenderer> {
  const row = await queryOne<{ renderer_backend: RendererBackend; renderer_url: string | null; renderer_secret_encrypted: string | null }>(em,
    `select renderer_backend, renderer_url, renderer_secret_encrypted from tenant where id = ?`, [tenantId]);
  if (!row) throw new UserInputError('tenant_not_found', 'The tenant no longer exists.');
  if (row.renderer_backend === 'http' && row.renderer_url && row.renderer_secret_encrypted) {
    return { backend: 'http', url: row.renderer_url, secret: decryptSecret(secretsKey, row.renderer_secret_encrypted) };
  }
  return { backend: 'local' };
}
