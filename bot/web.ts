import { fileURLToPath } from 'node:url';
import { createWebAdapter, type WebSettings } from '../adapters/web/adapter.ts';
import { LOGINS_PER_MINUTE } from '../adapters/web/action-routes.ts';
import { createRateLimits } from '../core/rate-limits.ts';
import { Command } from 'commander';
import { UserInputError } from '../core/errors.ts';
import type { Config } from '../core/config.ts';
import { roleSchema, type Role } from '../core/tenancy/roles.ts';
import { getTenantBySlug } from '../core/tenancy/tenants.ts';
import { createApiToken, createLoginCode, listApiTokens, revokeApiToken } from '../core/tenancy/tokens.ts';
import type { App, WithApp } from './app.ts';
import type { Channel } from './channel.ts';

/** The built panel shipped in the tree (npm run build:panel). */
export const PANEL_DIST = fileURLToPath(new URL('../adapters/web/panel/dist', import.meta.url));

/** The web channel's settings from the validated configuration. */
export function webSettings(
  config: Pick<Config, 'WEB_ALLOWED_ORIGINS' | 'WEB_RATE_LIMIT_PER_MINUTE' | 'TRUST_PROXY'>,
): WebSettings {
  return {
    allowedOrigins: config.WEB_ALLOWED_ORIGINS,
    rateLimitPerMinute: config.WEB_RATE_LIMIT_PER_MINUTE,
    panelDir: PANEL_DIST,
    trustProxy: config.TRUST_PROXY,
  };
}

/**
 * The web channel: /api/chat/*, /api/actions/*, /api/me, /api/auth/login, /api/openapi.json
 * and the chat panel at /chat. Always enabled; it only answers requests with a valid API token.
 */
export async function createWebChannel(app: App, settings: WebSettings = webSettings(app.config)): Promise<Channel> {
  const limits = createRateLimits(app.db.url, {
    apiPerMinute: settings.rateLimitPerMinute,
    loginsPerMinute: settings.loginsPerMinute ?? LOGINS_PER_MINUTE,
    onError: (err) => app.log.warn({ err: err.message }, 'rate limit counters unavailable'),
  });
  const adapter = createWebAdapter({
    intake: app.intake,
    conversations: app.conversations,
    files: app.files,
    log: app.log,
    now: app.now,
    settings,
    limits,
  });
  return {
    platform: 'web',
    routes: adapter.routes,
    deliverer: adapter.deliverer,
    streamer: adapter.streamer,
    stop: () => limits.close(),
  };
}

const print = (line: string) => process.stdout.write(`${line}\n`);

/** `renderbot admin token create|list|revoke|login-link`: API tokens of the web channel. */
export function tokenCommand(withApp: WithApp): Command {
  const token = new Command('token').description('API tokens for the chat API and the web chat panel');
  const role = (v: string) => {
    const r = roleSchema.safeParse(v);
    if (!r.success) throw new UserInputError('bad_flag', `--role must be viewer, operator or admin, got "${v}"`);
    return r.data;
  };
  token
    .command('create')
    .description('create a token for a user of a tenant; prints it once (only a hash is stored)')
    .requiredOption('--tenant <slug>')
    .requiredOption('--user <id>', "the user's id in your web app")
    .requiredOption('--role <viewer|operator|admin>', 'role', role)
    .option('--label <text>', 'what the token is for')
    .action((o: { tenant: string; user: string; role: Role; label?: string }) =>
      withApp(async (_app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        const created = await createApiToken(em, {
          tenantId: t.id,
          userId: o.user,
          role: o.role,
          ...(o.label ? { label: o.label } : {}),
        });
        print(`Token ${created.id} for ${o.user} (${o.role}) in ${t.slug} — shown once, store it now:`);
        print(created.token);
      }),
    );
  token
    .command('list')
    .description("list a tenant's tokens")
    .requiredOption('--tenant <slug>')
    .action((o: { tenant: string }) =>
      withApp(async (_app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        for (const r of await listApiTokens(em, t.id)) {
          const used = r.lastUsedAt ? r.lastUsedAt.toISOString() : 'never';
          print(
            `${r.id}  ${r.userId.padEnd(20)} ${r.role.padEnd(8)} ${r.revokedAt ? 'revoked' : 'active '}  last used ${used}${r.label ? `  ${r.label}` : ''}`,
          );
        }
      }),
    );
  token
    .command('revoke')
    .description('revoke a token by id')
    .requiredOption('--tenant <slug>')
    .argument('<id>', 'token id from "token list"')
    .action((id: string, o: { tenant: string }) =>
      withApp(async (_app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        if (!(await revokeApiToken(em, t.id, id)))
          throw new UserInputError(
            'token_not_found',
            `No active token ${id} in ${t.slug}. List them with: renderbot admin token list --tenant ${t.slug}`,
          );
        print(`Revoked token ${id}`);
      }),
    );
  token
    .command('login-link')
    .description('print a one-time sign-in link for the chat panel (15 minutes)')
    .requiredOption('--tenant <slug>')
    .requiredOption('--user <id>')
    .requiredOption('--role <viewer|operator|admin>', 'role', role)
    .action((o: { tenant: string; user: string; role: Role }) =>
      withApp(async (app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        const c = await createLoginCode(em, { tenantId: t.id, userId: o.user, role: o.role, now: app.now() });
        const base = (app.config.PUBLIC_URL ?? `http://localhost:${app.config.PORT}`).replace(/\/$/, '');
        print(`Sign-in link for ${o.user} (${o.role}) in ${t.slug}, valid once until ${c.expiresAt.toISOString()}:`);
        print(`${base}/chat#login=${c.code}`);
      }),
    );
  return token;
}
