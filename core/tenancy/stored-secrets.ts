import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import type { StoredAi } from './tenants.ts';

/** A tenant's encrypted secrets and the settings that go with them, as stored. */
export type TenantSecrets = StoredAi & {
  slug: string;
  rendererBackend: string;
  rendererUrl: string | null;
  rendererSecretEncrypted: string | null;
};

/** A Slack app installation's ids and its encrypted installation object, as stored. */
export type StoredInstallation = {
  teamId: string | null;
  teamName: string | null;
  enterpriseId: string | null;
  isEnterpriseInstall: boolean;
  installationEncrypted: string;
};

/** Every stored secret, still encrypted: each tenant's AI key and farm secret, each app installation; by slug and team. */
export async function listStoredSecrets(
  em: EntityManager,
): Promise<{ tenants: TenantSecrets[]; installations: StoredInstallation[] }> {
  const tenants = await db(em)
    .selectFrom('tenant')
    .select([
      'slug',
      'aiProvider',
      'aiSettings',
      'aiKeyEncrypted',
      'rendererBackend',
      'rendererUrl',
      'rendererSecretEncrypted',
    ])
    .orderBy('slug')
    .execute();
  const installations = await db(em)
    .selectFrom('slack_installation')
    .select(['teamId', 'teamName', 'enterpriseId', 'isEnterpriseInstall', 'installationEncrypted'])
    .orderBy('installKey')
    .execute();
  return { tenants, installations };
}
