import { createTtlCache, INTAKE_CACHE_TTL_MS } from '../cache.ts';
import type { Actor } from '../turn-scope.ts';
import type { Orm } from '../db/orm.ts';
import { publicMessage, RenderBotError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { redeemLinkCode, resolveLink } from '../tenancy/links.ts';
import type { LinkPlatform, Role } from '../tenancy/roles.ts';
import type { TenantRow } from '../tenancy/tenants.ts';
import { ensureUser } from '../tenancy/users.ts';

/** How long what a platform said about a person (guest or member, home workspace, name) is reused. */
export const PERSON_FACTS_TTL_MS = 10 * 60 * 1000;
const CACHE_MAX = 10_000;

/** A tenant as adapters see it: whose workspace it is (no settings, no keys). */
export type TenantRef = { id: string; slug: string; name: string };

/**
 * A platform workspace: a Slack team (`orgId`: its Enterprise Grid organisation, whose org-wide
 * link counts for all its teams) or a Microsoft 365 (AAD) tenant.
 */
export type Workspace = { id: string; orgId?: string };

/** What a platform says about a person when asked (Slack users.info, the Teams roster). */
export type PersonFacts = {
  /** A guest of the workspace (Slack single- or multi-channel guest; Teams guest or anonymous). */
  guest: boolean;
  /** The workspace the person belongs to, when the platform says; another one than the event's means an external (Slack Connect) person. */
  homeWorkspace?: string;
  /** Display name, shown on decided cards. */
  name?: string;
};

/** A person as an adapter sees them in an incoming event. */
export type Person = {
  /** The platform's stable user id. */
  id: string;
  /** Display name the event carries. */
  name?: string;
  /**
   * What the event itself says: `true` settles it (a viewer, nothing is looked up); `false`
   * counts only when `lookup` cannot answer. Unset with no answer: a guest (closed by default).
   */
  guest?: boolean;
  /**
   * Asks the platform about the person; undefined (or a failure) when it cannot answer — not
   * remembered, asked again next time. Answers are reused for PERSON_FACTS_TTL_MS.
   */
  lookup?: () => Promise<PersonFacts | undefined>;
};

/** A linked tenant's person with their role: the `Actor` of confirm/cancel, plus the tenant. */
export type Speaker = Actor & { platform: LinkPlatform; tenant: TenantRef };

/** What `link CODE` came to: linked, or refused with a reason and a message for people. */
export type LinkOutcome = { ok: true; tenant: TenantRef } | { ok: false; reason: 'guest' | 'refused'; message: string };

/**
 * `fresh`: look the link and the role up now (decisions: button clicks, card actions, the
 * home tab); by default both are reused for INTAKE_CACHE_TTL_MS (messages).
 */
export type Freshness = { fresh?: boolean };

/** The guest rule (docs/design.md §2): guests and people from another workspace (Slack Connect) are viewers. */
function isGuestIn(workspace: Workspace, facts: PersonFacts): boolean {
  return facts.guest || Boolean(facts.homeWorkspace && facts.homeWorkspace !== workspace.id);
}

const tenantRef = (t: Pick<TenantRow, 'id' | 'slug' | 'name'>): TenantRef => ({ id: t.id, slug: t.slug, name: t.name });

/**
 * Who is speaking, once for every platform: workspace → linked tenant, person → role (operator
 * for members, viewer for guests and external people, derived again from every fresh platform
 * answer, so a member who became a guest is a viewer within PERSON_FACTS_TTL_MS; a role an
 * admin set is kept), and one-time link codes. Links, roles and platform answers are cached
 * in this process (see `Freshness`, PERSON_FACTS_TTL_MS); misses never are.
 */
export function createIdentity(deps: { orm: Orm; log: Logger; now: () => Date }) {
  const clock = () => deps.now().getTime();
  const tenants = createTtlCache<TenantRef>({ ttlMs: INTAKE_CACHE_TTL_MS, max: CACHE_MAX, now: clock });
  const roles = createTtlCache<{ role: Role; name?: string }>({
    ttlMs: INTAKE_CACHE_TTL_MS,
    max: CACHE_MAX,
    now: clock,
  });
  const facts = createTtlCache<PersonFacts>({ ttlMs: PERSON_FACTS_TTL_MS, max: CACHE_MAX, now: clock });
  const workspaceKey = (platform: LinkPlatform, w: Workspace) => `${platform}:${w.id}:${w.orgId ?? ''}`;

  /** The tenant a workspace is linked to (its own link, else its organisation's), if any. */
  async function tenantOf(
    platform: LinkPlatform,
    workspace: Workspace,
    opts: Freshness = {},
  ): Promise<TenantRef | undefined> {
    const load = async () => {
      const em = deps.orm.em.fork();
      const row =
        (await resolveLink(em, platform, workspace.id)) ??
        (workspace.orgId ? await resolveLink(em, platform, workspace.orgId) : undefined);
      return row ? tenantRef(row) : undefined;
    };
    return opts.fresh ? load() : tenants.getOrLoad(workspaceKey(platform, workspace), load);
  }

  /** Whether the person counts as a guest, and their name, from the event and (cached) the platform's answer. */
  async function judge(
    platform: LinkPlatform,
    workspace: Workspace,
    person: Person,
  ): Promise<{ guest: boolean; name?: string }> {
    const named = (name: string | undefined) => (name ? { name } : {});
    if (person.guest === true || !person.lookup) return { guest: person.guest ?? true, ...named(person.name) };
    const lookup = person.lookup;
    const known = await facts.getOrLoad(`${platform}:${workspace.id}:${person.id}`, () =>
      lookup().catch((err: unknown) => {
        deps.log.warn({ err, platform, workspace: workspace.id, userId: person.id }, 'could not look the person up');
        return undefined;
      }),
    );
    if (!known) return { guest: person.guest ?? true, ...named(person.name) };
    return { guest: isGuestIn(workspace, known), ...named(known.name ?? person.name) };
  }

  /** The speaker in a linked workspace, or undefined when the workspace is not linked (then nothing else is looked up). */
  async function identify(
    platform: LinkPlatform,
    workspace: Workspace,
    person: Person,
    opts: Freshness = {},
  ): Promise<Speaker | undefined> {
    const tenant = await tenantOf(platform, workspace, opts);
    if (!tenant) return undefined;
    const load = async () => {
      const j = await judge(platform, workspace, person);
      const role = await ensureUser(
        deps.orm.em.fork(),
        tenant.id,
        platform,
        person.id,
        j.guest ? 'viewer' : 'operator',
        j.name,
      );
      return { role, ...(j.name ? { name: j.name } : {}) };
    };
    const who = opts.fresh
      ? await load()
      : (await roles.getOrLoad(`${platform}:${tenant.id}:${workspace.id}:${person.id}`, load))!;
    return {
      tenant,
      tenantId: tenant.id,
      userId: person.id,
      role: who.role,
      platform,
      ...(who.name ? { name: who.name } : {}),
    };
  }

  /**
   * `link CODE` from a workspace: redeems the one-time code (single use, 15 minutes) and links
   * the workspace. Guests and external people may not link; a workspace linked to another
   * tenant is not moved.
   */
  async function redeemLink(
    code: string,
    platform: LinkPlatform,
    workspace: Workspace,
    person: Person,
  ): Promise<LinkOutcome> {
    if ((await judge(platform, workspace, person)).guest) {
      return {
        ok: false,
        reason: 'guest',
        message: 'Guests cannot link a workspace. Ask a full member of this workspace to send the link code.',
      };
    }
    try {
      const row = await redeemLinkCode(deps.orm.em.fork(), code, platform, workspace.id, person.id);
      tenants.delete(workspaceKey(platform, workspace));
      deps.log.info(
        { platform, workspace: workspace.id, tenant: row.slug, by: person.id },
        'workspace linked with a code',
      );
      return { ok: true, tenant: tenantRef(row) };
    } catch (err) {
      if (!(err instanceof RenderBotError && err.fault === 'user'))
        deps.log.error({ err, platform, workspace: workspace.id }, 'link code redemption failed');
      return { ok: false, reason: 'refused', message: publicMessage(err) };
    }
  }

  return { tenantOf, identify, redeemLink };
}
