import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { db } from '../db/kysely.ts';
import { UserInputError } from '../errors.ts';
import { decryptSecret, encryptSecret } from '../secrets.ts';
import { storeTenantRenderer } from '../tenancy/tenants.ts';

/**
 * A tenant's renderer as the worker needs it; the farm secret only in decrypted form here.
 * `privateNetwork`: the farm runs on a private network and may report `http:` result URLs.
 */
export type TenantRenderer =
  { backend: 'local' } | { backend: 'http'; url: string; secret: string; privateNetwork: boolean };

/** Validated input of `setTenantRenderer`. */
export const rendererSettingsSchema = z.discriminatedUnion('backend', [
  z.object({ backend: z.literal('local') }),
  z
    .object({
      backend: z.literal('http'),
      url: z.url(),
      secret: z.string().min(16, 'the shared secret must have at least 16 characters'),
      /** The farm is on a private network: it may be reached, and report results, over plain http. Off unless set. */
      privateNetwork: z.boolean().default(false),
    })
    .refine(
      (r) =>
        new URL(r.url).protocol === 'https:' ||
        (new URL(r.url).protocol === 'http:' &&
          (r.privateNetwork || ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(r.url).hostname))),
      { message: 'the farm URL must use https (http only for localhost or with --private-network)', path: ['url'] },
    ),
]);
export type RendererSettings = z.input<typeof rendererSettingsSchema>;

/** Stores the tenant's renderer; the farm secret is encrypted with `secretsKey`. */
export async function setTenantRenderer(
  em: EntityManager,
  secretsKey: Buffer,
  tenantId: string,
  settings: RendererSettings,
): Promise<void> {
  if (settings.backend === 'local') {
    await storeTenantRenderer(em, tenantId, {
      rendererBackend: 'local',
      rendererUrl: null,
      rendererSecretEncrypted: null,
      rendererPrivateNetwork: false,
    });
    return;
  }
  await storeTenantRenderer(em, tenantId, {
    rendererBackend: 'http',
    rendererUrl: settings.url,
    rendererSecretEncrypted: encryptSecret(secretsKey, settings.secret),
    rendererPrivateNetwork: settings.privateNetwork ?? false,
  });
}

/** The tenant's renderer with its secret decrypted (for the worker and the callback route). */
export async function getTenantRenderer(
  em: EntityManager,
  secretsKey: Buffer,
  tenantId: string,
): Promise<TenantRenderer> {
  const row = await db(em)
    .selectFrom('tenant')
    .select(['rendererBackend', 'rendererUrl', 'rendererSecretEncrypted', 'rendererPrivateNetwork'])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  if (!row) throw new UserInputError('tenant_not_found', 'The tenant no longer exists.');
  if (row.rendererBackend === 'http' && row.rendererUrl && row.rendererSecretEncrypted) {
    return {
      backend: 'http',
      url: row.rendererUrl,
      secret: decryptSecret(secretsKey, row.rendererSecretEncrypted),
      privateNetwork: row.rendererPrivateNetwork,
    };
  }
  return { backend: 'local' };
}
