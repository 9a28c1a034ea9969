import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { monthlyUsage } from '../core/llm/usage.ts';
import { UserInputError } from '../core/errors.ts';
import { aiSettingsSchema, describeTenantAi, setTenantAi } from '../core/llm/settings.ts';
import { decodeCsvFile } from '../core/pipeline/csv.ts';
import { importProductsCsv } from '../core/pipeline/import.ts';
import { createLinkCode, linkWorkspace } from '../core/tenancy/links.ts';
import { platformSchema, roleSchema } from '../core/tenancy/roles.ts';
import { rendererSettingsSchema, setTenantRenderer } from '../core/renders/backends.ts';
import { createTenant, getTenantBySlug, listTenants, setTokenLimit } from '../core/tenancy/tenants.ts';
import { removeUser, setUserRole } from '../core/tenancy/users.ts';
import type { WithApp } from './app.ts';
import { modelCapacity, setModelConcurrency } from '../core/llm/capacity.ts';
import { tokenCommand } from './web.ts';
import { feedbackCommand } from './feedback-admin.ts';
import { feedbackCounts } from '../core/history/feedback.ts';
import { monthOf } from '../core/llm/usage.ts';

export type { WithApp };

const print = (line: string) => process.stdout.write(`${line}\n`);
const intArg = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new UserInputError('bad_flag', `${name} must be a whole number ≥ 0, got "${v}"`);
  return n;
};
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new UserInputError(
    'bad_flag',
    `${what}: ${issue?.path.length ? `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ` : ''}${issue?.message ?? 'invalid'}`,
  );
}

/** `renderbot admin …`: tenants, AI settings, limits, imports, usage, feedback, links, roles. */
export function adminCommand(withApp: WithApp): Command {
  const admin = new Command('admin').description('administer tenants, AI settings, links and users');

  const tenant = admin.command('tenant').description('create and configure tenants');
  tenant
    .command('create')
    .description('create a tenant')
    .requiredOption('--slug <slug>', 'short id, lowercase letters, digits and dashes')
    .requiredOption('--name <name>', 'display name')
    .action((o: { slug: string; name: string }) =>
      withApp(async (_app, em) => {
        const t = await createTenant(em, o);
        print(`Created tenant ${t.slug} (${t.name}), id ${t.id}`);
      }),
    );
  tenant
    .command('list')
    .description('list tenants')
    .action(() =>
      withApp(async (_app, em) => {
        for (const t of await listTenants(em))
          print(
            `${t.slug.padEnd(20)} ${t.name.padEnd(30)} AI: ${t.aiProvider ?? 'not configured'}  limit: ${t.monthlyTokenLimit ?? 'none'}`,
          );
      }),
    );
  tenant
    .command('ai')
    .description(
      "set a tenant's AI provider (Azure OpenAI or OpenAI-compatible; the key is stored encrypted) and/or its model concurrency",
    )
    .requiredOption('--tenant <slug>')
    .option('--provider <azure|openai>')
    .option('--endpoint <url>', 'azure: resource endpoint')
    .option('--deployment <name>', 'azure: deployment')
    .option('--api-version <v>', 'azure: api-version')
    .option('--base-url <url>', 'openai: base URL, e.g. https://api.openai.com/v1')
    .option('--model <name>', 'openai: model')
    .option('--api-key <key>', 'API key (stored encrypted with SECRETS_KEY); required with --provider')
    .option(
      '--max-concurrency <n>',
      "model calls of this tenant one process makes at once (default 256); more wait in order, other tenants' go on",
      intArg('--max-concurrency'),
    )
    .action(
      (o: {
        tenant: string;
        provider?: string;
        endpoint?: string;
        deployment?: string;
        apiVersion?: string;
        baseUrl?: string;
        model?: string;
        apiKey?: string;
        maxConcurrency?: number;
      }) =>
        withApp(async (app, em) => {
          if (!o.provider && o.maxConcurrency === undefined)
            throw new UserInputError(
              'bad_flag',
              'Give --provider (with its settings and --api-key) and/or --max-concurrency.',
            );
          if (o.provider && !o.apiKey) throw new UserInputError('bad_flag', '--provider needs --api-key.');
          const settings = o.provider
            ? parse(
                aiSettingsSchema,
                o.provider === 'azure'
                  ? { provider: 'azure', endpoint: o.endpoint, deployment: o.deployment, apiVersion: o.apiVersion }
                  : { provider: o.provider, baseUrl: o.baseUrl, model: o.model },
                'AI settings',
              )
            : undefined;
          const t = await getTenantBySlug(em, o.tenant);
          if (o.maxConcurrency !== undefined) await setModelConcurrency(em, t.id, o.maxConcurrency);
          if (settings) await setTenantAi(em, app.config.secretsKey, t.id, settings, o.apiKey!);
          if (settings) print(`AI for ${t.slug}: ${describeTenantAi(settings)} (key stored encrypted)`);
          if (o.maxConcurrency !== undefined)
            print(`Model calls of ${t.slug}: at most ${o.maxConcurrency} at once per process`);
        }),
    );
  tenant
    .command('limit')
    .description('set the monthly token limit (0 blocks AI use)')
    .requiredOption('--tenant <slug>')
    .requiredOption('--monthly-tokens <n>', 'tokens per calendar month', intArg('--monthly-tokens'))
    .action((o: { tenant: string; monthlyTokens: number }) =>
      withApp(async (_app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        await setTokenLimit(em, t.id, o.monthlyTokens);
        print(`Monthly token limit for ${t.slug}: ${o.monthlyTokens.toLocaleString('en')}`);
      }),
    );

  tenant
    .command('renderer')
    .description(
      "choose a tenant's render backend: local (built-in preview renderer) or http (a render farm; secret stored encrypted)",
    )
    .requiredOption('--tenant <slug>')
    .requiredOption('--backend <local|http>')
    .option('--url <https-url>', 'http: the farm endpoint jobs are POSTed to')
    .option('--secret <s>', 'http: shared HMAC secret (16+ characters)')
    .option(
      '--private-network',
      'http: the farm is on a private network; it may be reached and report result URLs over plain http',
    )
    .action((o: { tenant: string; backend: string; url?: string; secret?: string; privateNetwork?: boolean }) =>
      withApp(async (app, em) => {
        const settings = parse(
          rendererSettingsSchema,
          o.backend === 'http'
            ? { backend: 'http', url: o.url, secret: o.secret, privateNetwork: o.privateNetwork === true }
            : { backend: o.backend },
          'Renderer settings',
        );
        const t = await getTenantBySlug(em, o.tenant);
        await setTenantRenderer(em, app.config.secretsKey, t.id, settings);
        print(
          settings.backend === 'http'
            ? `Renderer for ${t.slug}: render farm at ${settings.url} (secret stored encrypted${settings.privateNetwork ? '; private network, http result URLs allowed' : ''})`
            : `Renderer for ${t.slug}: local preview renderer`,
        );
      }),
    );

  admin
    .command('import')
    .description('import data')
    .command('products')
    .description(
      'import products from a UTF-8 CSV file (header pim_id,name,category[,material_name], separated by , or ;); all or nothing',
    )
    .requiredOption('--tenant <slug>')
    .argument('<file>', 'CSV file')
    .action((file: string, o: { tenant: string }) =>
      withApp(async (_app, em) => {
        let bytes: Buffer;
        try {
          bytes = readFileSync(file);
        } catch {
          throw new UserInputError('file_unreadable', `Cannot read ${file}`);
        }
        const text = decodeCsvFile(bytes);
        const t = await getTenantBySlug(em, o.tenant);
        const r = await em.transactional((tx) => importProductsCsv(tx, t.id, text));
        print(`Imported into ${t.slug}: ${r.inserted} new, ${r.updated} updated products`);
      }),
    );

  admin
    .command('usage')
    .description("show a tenant's AI usage this month")
    .requiredOption('--tenant <slug>')
    .action((o: { tenant: string }) =>
      withApp(async (app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        const u = await monthlyUsage(em, t.id, app.now());
        print(
          `${t.slug} ${u.month.slice(0, 7)}: ${u.totalTokens.toLocaleString('en')} tokens (${u.promptTokens} prompt, ${u.completionTokens} completion) in ${u.requests} calls; limit ${u.limit?.toLocaleString('en') ?? 'none'}`,
        );
        const c = await modelCapacity(em, t.id, app.now());
        const cap = c.throttled
          ? `${c.throttled.cap} at once per process (lowered from ${c.maxConcurrency} after the AI provider answered 429, until ${c.throttled.until.toISOString()})`
          : `${c.maxConcurrency} at once per process`;
        print(`model calls: ${cap}; turns: ${c.running} being answered, ${c.waiting} waiting`);
        const f = await feedbackCounts(em, { tenantId: t.id, since: new Date(`${monthOf(app.now())}T00:00:00Z`) });
        print(
          `feedback this month: ${f.up} 👍, ${f.down} 👎 (list them with: renderbot admin feedback --tenant ${t.slug})`,
        );
      }),
    );

  const link = admin.command('link').description('link Slack workspaces and Teams tenants');
  link
    .command('slack')
    .description('link a Slack team (or enterprise) id to a tenant')
    .requiredOption('--tenant <slug>')
    .requiredOption('--team <id>', 'Slack team id, e.g. T0123ABCD')
    .action((o: { tenant: string; team: string }) =>
      withApp(async (_app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        await linkWorkspace(
          em,
          t.id,
          'slack',
          parse(z.string().regex(/^[TE][A-Z0-9]{2,}$/, 'must look like T0123ABCD'), o.team, '--team'),
        );
        print(`Linked Slack ${o.team} to ${t.slug}`);
      }),
    );
  link
    .command('teams')
    .description('link a Microsoft Entra (AAD) tenant id to a tenant')
    .requiredOption('--tenant <slug>')
    .requiredOption('--aad-tenant <guid>')
    .action((o: { tenant: string; aadTenant: string }) =>
      withApp(async (_app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        await linkWorkspace(
          em,
          t.id,
          'teams',
          parse(z.uuid('must be a GUID'), o.aadTenant.toLowerCase(), '--aad-tenant'),
        );
        print(`Linked Teams tenant ${o.aadTenant} to ${t.slug}`);
      }),
    );
  link
    .command('code')
    .description('create a one-time link code (15 minutes)')
    .requiredOption('--tenant <slug>')
    .action((o: { tenant: string }) =>
      withApp(async (app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        const c = await createLinkCode(em, t.id, app.now());
        print(
          `Link code for ${t.slug}: ${c.code} (valid until ${c.expiresAt.toISOString()}). Type "/render link ${c.code}" in Slack or "@RenderBot link ${c.code}" in Teams.`,
        );
      }),
    );

  const user = admin.command('user').description('manage users');
  user
    .command('role')
    .description("set a user's role (web API tokens follow it at once)")
    .requiredOption('--tenant <slug>')
    .requiredOption('--platform <slack|teams|web|cli>')
    .requiredOption('--user <id>', 'platform user id')
    .requiredOption('--role <viewer|operator|admin>')
    .action((o: { tenant: string; platform: string; user: string; role: string }) =>
      withApp(async (_app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        await setUserRole(
          em,
          t.id,
          parse(platformSchema, o.platform, '--platform'),
          o.user,
          parse(roleSchema, o.role, '--role'),
        );
        print(`${o.user} on ${o.platform} is now ${o.role} in ${t.slug}`);
      }),
    );
  user
    .command('remove')
    .description('remove a user from a tenant; their web API tokens stop working')
    .requiredOption('--tenant <slug>')
    .requiredOption('--platform <slack|teams|web|cli>')
    .requiredOption('--user <id>', 'platform user id')
    .action((o: { tenant: string; platform: string; user: string }) =>
      withApp(async (_app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        if (!(await removeUser(em, t.id, parse(platformSchema, o.platform, '--platform'), o.user))) {
          throw new UserInputError('user_not_found', `${o.user} on ${o.platform} is not a user of ${t.slug}.`);
        }
        print(`Removed ${o.user} on ${o.platform} from ${t.slug}`);
      }),
    );
  admin.addCommand(tokenCommand(withApp));
  admin.addCommand(feedbackCommand(withApp));
  return admin;
}
