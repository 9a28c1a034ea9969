import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Installation, webApi } from '@slack/bolt';
import { z } from 'zod';
import type { InstallationLookup, Intake } from '../../core/conversations/intake.ts';
import { PlatformError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { slackErrorCode } from './deliver.ts';

/*
 * Workspaces that installed the app with token rotation get bot tokens that expire (Slack: after
 * 12 hours) and a refresh token that Slack revokes once it is used. Two processes refreshing at
 * once would leave one of them with a revoked refresh token — and the workspace broken — so a
 * token is refreshed by one process at a time: it claims the refresh in the database
 * (compare-and-set, no transaction open while Slack is asked), stores the new tokens, and the
 * others wait for them. A refresh Slack refuses is recorded and logged once; until the app is
 * installed again, every use fails at once with a message saying so, instead of asking Slack
 * again for every turn.
 */

/** Refresh a token this long before it expires (Bolt's own threshold is 2 hours; this is earlier, so Bolt never races us). */
const REFRESH_BEFORE_MS = 3 * 60 * 60 * 1000;
/** How long a refresh claim holds (a process that died while refreshing is taken over after it). */
const CLAIM_SECONDS = 30;
/** How long to wait for another process's refresh, looking every `WAIT_STEP_MS`. */
const WAIT_MS = 20_000;
const WAIT_STEP_MS = 200;

const rotating = z.object({ bot: z.object({ refreshToken: z.string().min(1), expiresAt: z.number() }) });
const refreshResponse = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().positive(),
});

export type TokenRotationDeps = {
  client: webApi.WebClient;
  clientId: string;
  clientSecret: string;
  installations: Pick<Intake['installations'], 'find' | 'claimRefresh' | 'saveRefreshed' | 'refreshFailed'>;
  log: Logger;
  now?: () => number;
};

/**
 * The installation of a workspace with tokens that are good for a while: refreshed first when its
 * bot token expires within REFRESH_BEFORE_MS (by this process, or by another one it waits for).
 * Installations without rotation are returned as stored.
 */
export function createTokenRotation(
  deps: TokenRotationDeps,
): (q: InstallationLookup) => Promise<Installation | undefined> {
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const now = deps.now ?? Date.now;
  const expiring = (inst: unknown) => {
    const r = rotating.safeParse(inst);
    return r.success && r.data.bot.expiresAt * 1000 - now() < REFRESH_BEFORE_MS;
  };
  const find = async (q: InstallationLookup) => (await deps.installations.find(q)) as Installation | undefined;

  async function refresh(q: InstallationLookup, inst: Installation): Promise<Installation> {
    const { bot } = rotating.parse(inst);
    let tokens: z.infer<typeof refreshResponse>;
    try {
      tokens = refreshResponse.parse(
        await deps.client.oauth.v2.access({
          client_id: deps.clientId,
          client_secret: deps.clientSecret,
          grant_type: 'refresh_token',
          refresh_token: bot.refreshToken,
        }),
      );
    } catch (err) {
      const code = slackErrorCode(err) ?? 'refresh_failed';
      // Only a refusal is final; a network fault or a 5xx leaves the claim to run out, and the next use tries again.
      if (slackErrorCode(err)) {
        await deps.installations.refreshFailed(q, owner, code);
        deps.log.error(
          { teamId: q.teamId, enterpriseId: q.enterpriseId, error: code },
          'Slack refused to refresh this workspace’s token: RenderBot cannot act there until an admin installs the app again (/slack/install)',
        );
      }
      throw refusal(q, code);
    }
    const updated: Installation = {
      ...inst,
      bot: {
        ...inst.bot!,
        token: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresAt: Math.floor(now() / 1000) + tokens.expires_in,
      },
    };
    if (!(await deps.installations.saveRefreshed(q, updated, owner)))
      deps.log.warn(
        { teamId: q.teamId },
        'lost the token refresh claim while refreshing; the refreshed token is used once and not stored',
      );
    else deps.log.info({ teamId: q.teamId, enterpriseId: q.enterpriseId }, 'refreshed the Slack bot token');
    return updated;
  }

  /** Refreshes under way in this process, by installation: callers at the same moment share one. */
  const inFlight = new Map<string, Promise<Installation | undefined>>();
  return async (q) => {
    const inst = await find(q);
    if (!inst || !expiring(inst)) return inst;
    const key = `${q.enterpriseId ?? ''}:${q.isEnterpriseInstall ? '' : (q.teamId ?? '')}`;
    let shared = inFlight.get(key);
    if (!shared) {
      shared = refreshed(q).finally(() => inFlight.delete(key));
      inFlight.set(key, shared);
    }
    return shared;
  };

  /** The installation once its tokens were refreshed, here (under the claim) or by another process. */
  async function refreshed(q: InstallationLookup): Promise<Installation | undefined> {
    let inst = await find(q);
    if (!inst || !expiring(inst)) return inst;
    const deadline = now() + WAIT_MS;
    for (;;) {
      const claim = await deps.installations.claimRefresh(q, owner, CLAIM_SECONDS);
      if (typeof claim === 'object') throw refusal(q, claim.failed ?? 'refresh_failed');
      if (claim) {
        // Another process may have refreshed between our read and our claim.
        inst = await find(q);
        if (!inst || !expiring(inst)) {
          await deps.installations.saveRefreshed(q, inst, owner);
          return inst;
        }
        return refresh(q, inst);
      }
      if (now() > deadline)
        throw new PlatformError(
          'slack_token_refresh_slow',
          `The Slack token of team ${q.teamId ?? q.enterpriseId ?? '?'} is being refreshed by another process; try again shortly.`,
        );
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
      inst = await find(q);
      if (!inst || !expiring(inst)) return inst;
    }
  }
}

function refusal(q: InstallationLookup, code: string): PlatformError {
  return new PlatformError(
    'slack_token_refresh_failed',
    `Slack refused to refresh RenderBot's token for team ${q.teamId ?? q.enterpriseId ?? '?'} (${code}). An admin of that workspace must install the app again via /slack/install.`,
  );
}
