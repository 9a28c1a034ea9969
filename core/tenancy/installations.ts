import { queryOne } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';
import { decryptSecret, encryptSecret } from '../llm/secrets.ts';

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
  await em.execute(
    `insert into slack_installation (install_key, team_id, team_name, enterprise_id, is_enterprise_install, app_id, bot_user_id, bot_id, installed_by, installation_encrypted)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     on conflict (install_key) do update set team_name = excluded.team_name, app_id = excluded.app_id, bot_user_id = excluded.bot_user_id,
       bot_id = excluded.bot_id, installed_by = excluded.installed_by, installation_encrypted = excluded.installation_encrypted, updated_at = now()`,
    [installKey(rec), rec.teamId ?? null, rec.teamName ?? null, rec.enterpriseId ?? null, rec.isEnterpriseInstall === true,
      rec.appId ?? null, rec.botUserId ?? null, rec.botId ?? null, rec.installedBy ?? null,
      encryptSecret(secretsKey, JSON.stringify(rec.secret))],
  );
}

/**
 * The decrypted installation object of a workspace, or undefined when none is stored: the
 * workspace's own install first, then its enterprise's org-wide install.
 */
export async function findInstallation(em: EntityManager, secretsKey: Buffer, q: InstallationLookup): Promise<unknown> {
  const keys = [installKey(q), ...(q.enterpriseId ? [`E:${q.enterpriseId}`] : [])];
  for (const key of keys) {
    const row = await queryOne<{ installation_encrypted: string }>(em, `select installation_encrypted from slack_installation where install_key = ?`, [key]);
    if (row) return JSON.parse(decryptSecret(secretsKey, row.installation_encrypted)) as unknown;
  }
  return undefined;
}

/** Removes the installation stored under exactly this lookup (uninstall, revoked tokens). */
export async function deleteInstallation(em: EntityManager, q: InstallationLookup): Promise<void> {
  await em.execute(`delete from slack_installation where install_key = ?`, [installKey(q)]);
}
