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
  await db(em)
    .insertInto('slack_installation')
    .values({
      installKey: installKey(rec),
      teamId: rec.teamId ?? null,
      teamName: rec.teamName ?? null,
      enterpriseId: rec.enterpriseId ?? null,
      isEnterpriseInstall: rec.isEnterpriseInstall === true,
      appId: rec.appId ?? null,
      botUserId: rec.botUserId ?? null,
      botId: rec.botId ?? null,
      installedBy: rec.installedBy ?? null,
      installationEncrypted: encryptSecret(secretsKey, JSON.stringify(rec.secret)),
    })
    .onConflict((oc) =>
      oc.column('installKey').doUpdateSet((eb) => ({
        teamName: eb.ref('excluded.teamName'),
        appId: eb.ref('excluded.appId'),
        botUserId: eb.ref('excluded.botUserId'),
        botId: eb.ref('excluded.botId'),
        installedBy: eb.ref('excluded.installedBy'),
        installationEncrypted: eb.ref('excluded.installationEncrypted'),
        updatedAt: sql<Date>`now()`,
        // A new install brings new tokens: an earlier refresh failure no longer applies.
        refreshFailedAt: null,
        refreshError: null,
        refreshClaim: null,
        refreshClaimUntil: null,
      })),
    )
    .execute();
}

/** Where a stored installation's token refresh stands: failed (Slack's error code), or free to refresh. */
export type RefreshState = { failed?: string };

/**
 * Claims the refresh of an installation's tokens for `seconds` (compare-and-set: one caller at
 * a time across processes; an expired claim can be taken over). Refused after a failed refresh
 * until the app is installed again. No transaction stays open: the caller refreshes, then calls
 * `saveRefreshed` or `refreshFailed`.
 */
export async function claimRefresh(
  em: EntityManager,
  q: InstallationLookup,
  owner: string,
  seconds: number,
): Promise<boolean | RefreshState> {
  const claimed = await db(em)
    .updateTable('slack_installation')
    .set({ refreshClaim: owner, refreshClaimUntil: sql<Date>`now() + make_interval(secs => ${seconds})` })
    .where('installKey', '=', installKey(q))
    .where('refreshFailedAt', 'is', null)
    .where((eb) =>
      eb.or([
        eb('refreshClaim', 'is', null),
        eb('refreshClaimUntil', '<', sql<Date>`now()`),
        eb('refreshClaim', '=', owner),
      ]),
    )
    .returning('id')
    .executeTakeFirst();
  if (claimed) return true;
  const row = await db(em)
    .selectFrom('slack_installation')
    .select('refreshError')
    .where('installKey', '=', installKey(q))
    .where('refreshFailedAt', 'is not', null)
    .executeTakeFirst();
  return row ? { failed: row.refreshError ?? 'refresh_failed' } : false;
}

/** Stores the refreshed installation and ends `owner`'s claim; false when the claim was lost meanwhile (nothing stored). */
export async function saveRefreshed(
  em: EntityManager,
  secretsKey: Buffer,
  q: InstallationLookup,
  installation: unknown,
  owner: string,
): Promise<boolean> {
  const saved = await db(em)
    .updateTable('slack_installation')
    .set({
      installationEncrypted: encryptSecret(secretsKey, JSON.stringify(installation)),
      updatedAt: sql<Date>`now()`,
      refreshClaim: null,
      refreshClaimUntil: null,
    })
    .where('installKey', '=', installKey(q))
    .where('refreshClaim', '=', owner)
    .returning('id')
    .executeTakeFirst();
  return Boolean(saved);
}

/** Records that Slack refused a refresh (`error`: its error code, never a token) and ends `owner`'s claim. */
export async function refreshFailed(
  em: EntityManager,
  q: InstallationLookup,
  owner: string,
  error: string,
): Promise<void> {
  await db(em)
    .updateTable('slack_installation')
    .set({
      refreshFailedAt: sql<Date>`now()`,
      refreshError: error.slice(0, 200),
      refreshClaim: null,
      refreshClaimUntil: null,
    })
    .where('installKey', '=', installKey(q))
    .where('refreshClaim', '=', owner)
    .execute();
}

/**
 * The decrypted installation object of a workspace, or undefined when none is stored: the
 * workspace's own install first, then its enterprise's org-wide install.
 */
export async function findInstallation(em: EntityManager, secretsKey: Buffer, q: InstallationLookup): Promise<unknown> {
  const keys = [installKey(q), ...(q.enterpriseId ? [`E:${q.enterpriseId}`] : [])];
  for (const key of keys) {
    const row = await db(em)
      .selectFrom('slack_installation')
      .select('installationEncrypted')
      .where('installKey', '=', key)
      .executeTakeFirst();
    if (row) return JSON.parse(decryptSecret(secretsKey, row.installationEncrypted)) as unknown;
  }
  return undefined;
}

/** Removes the installation stored under exactly this lookup (uninstall, revoked tokens). */
export async function deleteInstallation(em: EntityManager, q: InstallationLookup): Promise<void> {
  await db(em).deleteFrom('slack_installation').where('installKey', '=', installKey(q)).execute();
}
