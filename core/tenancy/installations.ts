import { sql } from 'kysely';
import { db } from '../db/kysely.ts';
import type { EntityManager } from '../db/orm.ts';
import { decryptSecret, encryptSecret } from '../secrets.ts';

// App installations live in table `slack_installation` (Slack is the only platform with
// per-workspace OAuth installs so far); nothing here depends on a platform SDK.

/**
 * Which app installation a workspace maps to: a workspace (team) install, or an org-wide
 * install of an enterprise (`isEnterpriseInstall`), which counts for every team of it.
 */
export type InstallationLookup = { teamId?: string; enterpriseId?: string; isEnterpriseInstall?: boolean };

/**
 * One app installation (OAuth result) to store. `secret` is the platform's whole installation
 * object — bot token, user token, refresh tokens — and is stored only as AES-256-GCM ciphertext
 * under SECRETS_KEY; the other fields are plain ids for lookups and listings.
 */
export type InstallationRecord = InstallationLookup & {
  teamName?: string;
  appId?: string;
  botUserId?: string;
  botId?: string;
  installedBy?: string;
  secret: unknown;
};

/** The unique key of an installation: the enterprise for org-wide installs, else the team. */
function installKey(q: InstallationLookup): string {
  return q.isEnterpriseInstall && q.enterpriseId ? `E:${q.enterpriseId}` : `T:${q.teamId ?? ''}`;
}

/** Stores (or replaces) an installation; the installation object is encrypted under `secretsKey`. */
export async function saveInstallation(em: EntityManager, secretsKey: Buffer, rec: InstallationRecord): Promise<void> {
  await db(em).insertInto('slack_installation').values({
    installKey: installKey(rec), teamId: rec.teamId ?? null, teamName: rec.teamName ?? null, enterpriseId: rec.enterpriseId ?? null,
    isEnterpriseInstall: rec.isEnterpriseInstall === true, appId: rec.appId ?? null, botUserId: rec.botUserId ?? null,
    botId: rec.botId ?? null, installedBy: rec.installedBy ?? null,
    installationEncrypted: encryptSecret(secretsKey, JSON.stringify(rec.secret)),
  }).onConflict((oc) => oc.column('installKey').doUpdateSet((eb) => ({
    teamName: eb.ref('excluded.teamName'), appId: eb.ref('excluded.appId'), botUserId: eb.ref('excluded.botUserId'),
    botId: eb.ref('excluded.botId'), installedBy: eb.ref('excluded.installedBy'),
    installationEncrypted: eb.ref('excluded.installationEncrypted'), updatedAt: sql<Date>`now()`,
  }))).execute();
}

/**
 * The decrypted installation object of a workspace, or undefined when none is stored: the
 * workspace's own install first, then its enterprise's org-wide install.
 */
export async function findInstallation(em: EntityManager, secretsKey: Buffer, q: InstallationLookup): Promise<unknown> {
  const keys = [installKey(q), ...(q.enterpriseId ? [`E:${q.enterpriseId}`] : [])];
  for (const key of keys) {
    const row = await db(em).selectFrom('slack_installation').select('installationEncrypted').where('installKey', '=', key).executeTakeFirst();
    if (row) return JSON.parse(decryptSecret(secretsKey, row.installationEncrypted)) as unknown;
  }
  return undefined;
}

/** Removes the installation stored under exactly this lookup (uninstall, revoked tokens). */
export async function deleteInstallation(em: EntityManager, q: InstallationLookup): Promise<void> {
  await db(em).deleteFrom('slack_installation').where('installKey', '=', installKey(q)).execute();
}
