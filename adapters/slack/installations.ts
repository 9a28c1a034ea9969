import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import { queryOne } from '../../core/db/sql.ts';
import type { Orm } from '../../core/db/orm.ts';
import { decryptSecret, encryptSecret } from '../../core/llm/secrets.ts';

/** Which installation a team or enterprise maps to. */
export type InstallationLookup = { teamId?: string; enterpriseId?: string; isEnterpriseInstall?: boolean };

/**
 * Bolt/@slack/oauth installation store on PostgreSQL (table `slack_installation`). The whole
 * installation — bot token, user token, refresh tokens — is stored only as AES-256-GCM
 * ciphertext under SECRETS_KEY; plain columns hold ids for lookups. Org-wide (enterprise)
 * installs are found for any team of the enterprise.
 */
export function createInstallationStore(deps: { orm: Orm; secretsKey: Buffer }): InstallationStore & { find(q: InstallationLookup): Promise<Installation | undefined> } {
  const keyOf = (i: InstallationLookup) => (i.isEnterpriseInstall && i.enterpriseId ? `E:${i.enterpriseId}` : `T:${i.teamId ?? ''}`);

  async function find(q: InstallationLookup): Promise<Installation | undefined> {
    const em = deps.orm.em.fork();
    const keys = [keyOf(q), ...(q.enterpriseId ? [`E:${q.enterpriseId}`] : [])];
    for (const key of keys) {
      const row = await queryOne<{ installation_encrypted: string }>(em, `select installation_encrypted from slack_installation where install_key = ?`, [key]);
      if (row) return JSON.parse(decryptSecret(deps.secretsKey, row.installation_encrypted)) as Installation;
    }
    return undefined;
  }

  return {
    find,
    async storeInstallation(installation) {
      const lookup = { teamId: installation.team?.id, enterpriseId: installation.enterprise?.id, isEnterpriseInstall: installation.isEnterpriseInstall === true };
      await deps.orm.em.fork().execute(
        `insert into slack_installation (install_key, team_id, team_name, enterprise_id, is_enterprise_install, app_id, bot_user_id, bot_id, installed_by, installation_encrypted)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (install_key) do update set team_name = excluded.team_name, app_id = excluded.app_id, bot_user_id = excluded.bot_user_id,
           bot_id = excluded.bot_id, installed_by = excluded.installed_by, installation_encrypted = excluded.installation_encrypted, updated_at = now()`,
        [keyOf(lookup), lookup.teamId ?? null, installation.team?.name ?? null, lookup.enterpriseId ?? null, lookup.isEnterpriseInstall,
          installation.appId ?? null, installation.bot?.userId ?? null, installation.bot?.id ?? null, installation.user.id,
          encryptSecret(deps.secretsKey, JSON.stringify(installation))],
      );
    },
    async fetchInstallation(query: InstallationQuery<boolean>) {
      const found = await find(query);
      if (!found) throw new Error(`No Slack installation for team ${query.teamId ?? '-'} / enterprise ${query.enterpriseId ?? '-'}; install the app via /slack/install.`);
      return found;
    },
    async deleteInstallation(query: InstallationQuery<boolean>) {
      await deps.orm.em.fork().execute(`delete from slack_installation where install_key = ?`, [keyOf(query)]);
    },
  };
}
