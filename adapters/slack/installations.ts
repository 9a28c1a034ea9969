import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { InstallationLookup, Intake } from '../../core/conversations/intake.ts';

/**
 * Bolt/@slack/oauth installation store over the core's installation records
 * (`Intake.installations`): the whole installation — bot token, user token, refresh tokens — is
 * stored only encrypted under SECRETS_KEY. Org-wide (enterprise) installs are found for any
 * team of the enterprise. With `fresh`, found installations come with tokens that do not expire
 * soon (token rotation).
 */
export function createInstallationStore(
  records: Intake['installations'],
  fresh?: (q: InstallationLookup) => Promise<Installation | undefined>,
): InstallationStore & { find(q: InstallationLookup): Promise<Installation | undefined> } {
  // With token rotation (token-rotation.ts), what Bolt and the deliverer get is refreshed before it expires.
  async function find(q: InstallationLookup): Promise<Installation | undefined> {
    return fresh ? fresh(q) : ((await records.find(q)) as Installation | undefined);
  }

  return {
    find,
    async storeInstallation(installation) {
      await records.save({
        teamId: installation.team?.id,
        enterpriseId: installation.enterprise?.id,
        isEnterpriseInstall: installation.isEnterpriseInstall === true,
        teamName: installation.team?.name,
        appId: installation.appId,
        botUserId: installation.bot?.userId,
        botId: installation.bot?.id,
        installedBy: installation.user.id,
        secret: installation,
      });
    },
    async fetchInstallation(query: InstallationQuery<boolean>) {
      const found = await find(query);
      if (!found)
        throw new Error(
          `No Slack installation for team ${query.teamId ?? '-'} / enterprise ${query.enterpriseId ?? '-'}; install the app via /slack/install.`,
        );
      return found;
    },
    async deleteInstallation(query: InstallationQuery<boolean>) {
      await records.remove(query);
    },
  };
}
