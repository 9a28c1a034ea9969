import type { webApi } from '@slack/bolt';
import type { EntityManager } from '../../core/db/orm.ts';
import type { Logger } from '../../core/logger.ts';
import { resolveLink } from '../../core/tenancy/links.ts';
import type { Role } from '../../core/tenancy/roles.ts';
import type { TenantRow } from '../../core/tenancy/tenants.ts';
import { ensureUser } from '../../core/tenancy/users.ts';
import { createTtlCache, INTAKE_CACHE_TTL_MS } from '../../core/cache.ts';

/** How long a users.info answer (guest or member, display name) is reused. */
export const USER_INFO_TTL_MS = 10 * 60 * 1000;

type UserInfo = { guest: boolean; name?: string };

/** Team → tenant and Slack user → role, as every entry point needs them (DESIGN §2). */
export type SlackIdentity = ReturnType<typeof createIdentity>;

export function createIdentity(deps: { log: Logger; now: () => Date }) {
  const clock = () => deps.now().getTime();
  const users = createTtlCache<UserInfo>({ ttlMs: USER_INFO_TTL_MS, max: 5000, now: clock });
  const tenants = createTtlCache<TenantRow>({ ttlMs: INTAKE_CACHE_TTL_MS, max: 10_000, now: clock });
  const roles = createTtlCache<Role>({ ttlMs: INTAKE_CACHE_TTL_MS, max: 10_000, now: clock });

  /**
   * The linked tenant of a workspace; an org-wide link (enterprise id) counts for all its
   * workspaces. `reuse`: a link found in the last INTAKE_CACHE_TTL_MS will do (messages).
   */
  async function tenantOf(em: EntityManager, teamId: string | undefined, enterpriseId?: string, opts: { reuse?: boolean } = {}): Promise<TenantRow | undefined> {
    const load = async () => {
      if (teamId) {
        const t = await resolveLink(em, 'slack', teamId);
        if (t) return t;
      }
      return enterpriseId ? resolveLink(em, 'slack', enterpriseId) : undefined;
    };
    return opts.reuse ? tenants.getOrLoad(`${teamId ?? ''}:${enterpriseId ?? ''}`, load) : load();
  }

  /**
   * users.info, cached. Guests (single- or multi-channel: is_restricted / is_ultra_restricted)
   * and Slack Connect users of another organisation (their team_id is not this workspace's) are
   * guests; when Slack cannot tell us, the person is treated as a guest (fail closed).
   */
  async function userInfo(client: webApi.WebClient, teamId: string, userId: string): Promise<UserInfo> {
    const info = await users.getOrLoad(`${teamId}:${userId}`, async () => {
      try {
        const u = (await client.users.info({ user: userId })).user;
        const external = Boolean(u?.team_id && u.team_id !== teamId);
        return { guest: Boolean(u?.is_restricted || u?.is_ultra_restricted) || external, name: u?.real_name || u?.name || undefined };
      } catch (err) {
        deps.log.warn({ err, teamId, userId }, 'users.info failed; treating the user as a guest (viewer)');
        return undefined; // not cached: asked again next time
      }
    });
    return info ?? { guest: true };
  }

  /**
   * The person's role in the tenant: created on first contact as operator (members) or viewer
   * (guests); a role an admin set later is kept. For messages: reused for INTAKE_CACHE_TTL_MS.
   */
  async function roleOf(em: EntityManager, client: webApi.WebClient, tenantId: string, teamId: string, userId: string): Promise<Role> {
    return (await roles.getOrLoad(`${tenantId}:${teamId}:${userId}`, async () => (await personOf(em, client, tenantId, teamId, userId)).role))!;
  }

  /** Role plus display name (for "Confirmed by …" on cards). */
  async function personOf(em: EntityManager, client: webApi.WebClient, tenantId: string, teamId: string, userId: string): Promise<{ role: Role; name?: string }> {
    const info = await userInfo(client, teamId, userId);
    const role = await ensureUser(em, tenantId, 'slack', userId, info.guest ? 'viewer' : 'operator', info.name);
    return { role, ...(info.name ? { name: info.name } : {}) };
  }

  return { tenantOf, userInfo, roleOf, personOf };
}
