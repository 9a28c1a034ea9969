import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { Orm } from '../../core/db/orm.ts';
import { deleteInstallation, findInstallation, saveInstallation, type InstallationLookup } from '../../core/tenancy/installations.ts';

/**
 * Bolt/@slack/oauth installation store over the core's installation records
 * (core/tenancy/installations.ts): the whole installation — bot token, user token, refresh
 * tokens — is stored only encrypted under SECRETS_KEY. Org-wide (enterprise) installs are found
 * for any team of the enterprise.
 */
export function createInstallationStore(deps: { orm: Orm; secretsKey: Buffer }): InstallationStore & { find(q: InstallationLookup): Promise<Installation | undefined> } {
  async function find(q: InstallationLookup): Promise<Installation | undefined> {
    return (await findInstallation(deps.orm.em.fork(), deps.secretsKey, q)) as Installation | undefined;
  }

  return {
    find,
    async storeInstallation(installation) {
      await saveInstallation(deps.orm.em.fork(), deps.secretsKey, {
        teamId: installation.team?.id, enterpriseId: installation.enterprise?.id, isEnterpriseInstall: installation.isEnterpriseInstall === true,
        teamName: installation.team?.name, appId: installation.appId, botUserId: installation.bot?.userId, botId: installation.bot?.id,
        installedBy: installation.user.id, secret: installation,
      });
    },
    async fetchInstallation(query: InstallationQuery<boolean>) {
      const found = await find(query);
      if (!found) throw new Error(`No Slack installation for team ${query.teamId ?? '-'} / enterprise ${query.enterpriseId ?? '-'}; install the app via /slack/install.`);
      return found;
    },
    async deleteInstallation(query: InstallationQuery<boolean>) {
      await deleteInstallation(deps.orm.em.fork(), query);
    },
  };
}
