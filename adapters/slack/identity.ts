import type { webApi } from '@slack/bolt';
import type { Person, Workspace } from '../../core/conversations/intake.ts';

/** A Slack workspace for the core's intake: the team, and its Enterprise Grid organisation (an org-wide link counts for every team). */
export function slackWorkspace(teamId: string, enterpriseId?: string): Workspace {
  return { id: teamId, ...(enterpriseId ? { orgId: enterpriseId } : {}) };
}

/**
 * A Slack user for the core's intake, looked up with users.info when the core needs to know
 * (first contact, cache expiry): single- and multi-channel guests (is_restricted /
 * is_ultra_restricted) are guests, a user whose team_id is another workspace's is a Slack
 * Connect person from elsewhere; when Slack cannot answer, the core treats the user as a guest.
 */
export function slackPerson(client: webApi.WebClient, userId: string): Person {
  return {
    id: userId,
    lookup: async () => {
      const u = (await client.users.info({ user: userId })).user;
      const name = u?.real_name || u?.name || undefined;
      return {
        guest: Boolean(u?.is_restricted || u?.is_ultra_restricted),
        ...(u?.team_id ? { homeWorkspace: u.team_id } : {}),
        ...(name ? { name } : {}),
      };
    },
  };
}
