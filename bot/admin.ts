import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { monthlyUsage } from '../core/agent/usage.ts';
import type { EntityManager } from '../core/db/orm.ts';
import { UserInputError } from '../core/errors.ts';
import { aiSettingsSchema, describeTenantAi, setTenantAi } from '../core/llm/settings.ts';
import { decodeCsvFile } from '../core/pipeline/csv.ts';
import { importProductsCsv } from '../core/pipeline/import.ts';
import { createLinkCode, linkWorkspace } from '../core/tenancy/links.ts';
import { platformSchema, roleSchema } from '../core/tenancy/roles.ts';
import { rendererSettingsSchema, setTenantRenderer } from '../core/renders/backends.ts';
import { createTenant, getTenantBySlug, listTenants } from '../core/tenancy/tenants.ts';
import { setUserRole } from '../core/tenancy/users.ts';
import type { App } from './app.ts';
import { tokenCommand } from './web.ts';

/** Runs `fn` with an app opened for a one-shot command and closes it afterwards. */
export type WithApp = (fn: (app: App, em: EntityManager) => Promise<void>) => Promise<void>;

const print = (line: string) => process.stdout.write(`${line}\n`);
const intArg = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserInputError('bad_flag', `${name} must be a whole number ≥ 0, got "${v}"`);
  return n;
};
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new UserInputError('bad_flag', `${what}: ${issue?.path.length ? `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ` : ''}${issue?.message ?? 'invalid'}`);
}

/** `renderbot admin …`: tenants, AI settings, limits, imports, usage, links, roles. */
export function adminCommand(withApp: WithApp): Command {
  const admin = new Command('admin').description('administer tenants, AI settings, links and users');

  const tenant = admin.command('tenant').description('create and configure tenants');
  tenant.command('create').description('create a tenant')
    .requiredOption('--slug <slug>', 'short id, lowercase letters, digits and dashes').requiredOption('--name <name>', 'display name')
    .action((o: { slug: string; name: string }) => withApp(async (_app, em) => {
      const t = await createTenant(em, o);
      print(`Created tenant ${t.slug} (${t.name}), id ${t.id}`);
    }));
  tenant.command('list').description('list tenants')
    .action(() => withApp(async (_app, em) => {
      for (const t of await listTenants(em)) print(`${t.slug.padEnd(20)} ${t.name.padEnd(30)} AI: ${t.ai_provider ?? 'not configured'}  limit: ${t.monthly_token_limit ?? 'none'}`);
    }));
  tenant.command('ai').description("set a tenant's AI provider (Azure OpenAI or OpenAI-compatible); the key is stored encrypted")
    .requiredOption('--tenant <slug>').requiredOption('--provider <azure|openai>')
    .option('--endpoint <url>', 'azure: resource endpoint').option('--deployment <name>', 'azure: deployment').option('--api-version <v>', 'azure: api-version')
    .option('--base-url <url>', 'openai: base URL, e.g. https://api.openai.com/v1').option('--model <name>', 'openai: model')
    .requiredOption('--api-key <key>', 'API key (stored encrypted with SECRETS_KEY)')
    .action((o: Record<string, string>) => withApp(async (app, em) => {
      const settings = parse(aiSettingsSchema, o.provider === 'azure'
        ? { provider: 'azure', endpoint: o.endpoint, deployment: o.deployment, apiVersion: o.apiVersion }
        : { provider: o.provider, baseUrl: o.baseUrl, model: o.model }, 'AI settings');
      const t = await getTenantBySlug(em, o.tenant!);
      await setTenantAi(em, app.config.secretsKey, t.id, settings, o.apiKey!);
      print(`AI for ${t.slug}: ${describeTenantAi(settings)} (key stored encrypted)`);
    }));
  tenant.command('limit').description('set the monthly token limit (0 blocks AI use)')
    .requiredOption('--tenant <slug>').requiredOption('--monthly-tokens <n>', 'tokens per calendar month', intArg('--monthly-tokens'))
    .action((o: { tenant: string; monthlyTokens: number }) => withApp(async (_app, em) => {
      const t = await getTenantBySlug(em, o.tenant);
      await em.execute(`update tenant set monthly_token_limit = ? where id = ?`, [o.monthlyTokens, t.id]);
      print(`Monthly token limit for ${t.slug}: ${o.monthlyTokens.toLocaleString('en')}`);
    }));

  tenant.command('renderer').description("choose a tenant's render backend: local (built-in preview renderer) or http (a render farm; secret stored encrypted)")
    .requiredOption('--tenant <slug>').requiredOption('--backend <local|http>')
    .option('--url <https-url>', 'http: the farm endpoint jobs are POSTed to').option('--secret <s>', 'http: shared HMAC secret (16+ characters)')
    .action((o: { tenant: string; backend: string; url?: string; secret?: string }) => withApp(async (app, em) => {
      const settings = parse(rendererSettingsSchema, o.backend === 'http' ? { backend: 'http', url: o.url, secret: o.secret } : { backend: o.backend }, 'Renderer settings');
      const t = await getTenantBySlug(em, o.tenant);
      await setTenantRenderer(em, app.config.secretsKey, t.id, settings);
      print(settings.backend === 'http' ? `Renderer for ${t.slug}: render farm at ${settings.url} (secret stored encrypted)` : `Renderer for ${t.slug}: local preview renderer`);
    }));

  admin.command('import').description('import data').command('products').description('import products from a UTF-8 CSV file (header pim_id,name,category[,material_name], separated by , or ;); all or nothing')
    .requiredOption('--tenant <slug>').argument('<file>', 'CSV file')
    .action((file: string, o: { tenant: string }) => withApp(async (_app, em) => {
      let bytes: Buffer;
      try { bytes = readFileSync(file); } catch { throw new UserInputError('file_unreadable', `Cannot read ${file}`); }
      const text = decodeCsvFile(bytes);
      const t = await getTenantBySlug(em, o.tenant);
      const r = await em.transactional((tx) => importProductsCsv(tx, t.id, text));
      print(`Imported into ${t.slug}: ${r.inserted} new, ${r.updated} updated products`);
    }));

  admin.command('usage').description("show a tenant's AI usage this month").requiredOption('--tenant <slug>')
    .action((o: { tenant: string }) => withApp(async (app, em) => {
      const t = await getTenantBySlug(em, o.tenant);
      const u = await monthlyUsage(em, t.id, app.now());
      print(`${t.slug} ${u.month.slice(0, 7)}: ${u.totalTokens.toLocaleString('en')} tokens (${u.promptTokens} prompt, ${u.completionTokens} completion) in ${u.requests} calls; limit ${u.limit?.toLocaleString('en') ?? 'none'}`);
    }));

  const link = admin.command('link').description('link Slack workspaces and Teams tenants');
  link.command('slack').description('link a Slack team (or enterprise) id to a tenant').requiredOption('--tenant <slug>').requiredOption('--team <id>', 'Slack team id, e.g. T0123ABCD')
    .action((o: { tenant: string; team: string }) => withApp(async (_app, em) => {
      const t = await getTenantBySlug(em, o.tenant);
      await linkWorkspace(em, t.id, 'slack', parse(z.string().regex(/^[TE][A-Z0-9]{2,}$/, 'must look like T0123ABCD'), o.team, '--team'));
      print(`Linked Slack ${o.team} to ${t.slug}`);
    }));
  link.command('teams').description('link a Microsoft Entra (AAD) tenant id to a tenant').requiredOption('--tenant <slug>').requiredOption('--aad-tenant <guid>')
    .action((o: { tenant: string; aadTenant: string }) => withApp(async (_app, em) => {
      const t = await getTenantBySlug(em, o.tenant);
      await linkWorkspace(em, t.id, 'teams', parse(z.uuid('must be a GUID'), o.aadTenant.toLowerCase(), '--aad-tenant'));
      print(`Linked Teams tenant ${o.aadTenant} to ${t.slug}`);
    }));
  link.command('code').description('create a one-time link code (15 minutes)').requiredOption('--tenant <slug>')
    .action((o: { tenant: string }) => withApp(async (app, em) => {
      const t = await getTenantBySlug(em, o.tenant);
      const c = await createLinkCode(em, t.id, app.now());
      print(`Link code for ${t.slug}: ${c.code} (valid until ${c.expiresAt.toISOString()}). Type "/render link ${c.code}" in Slack or "@RenderBot link ${c.code}" in Teams.`);
    }));

  admin.command('user').description('manage users').command('role').description("set a user's role")
    .requiredOption('--tenant <slug>').requiredOption('--platform <slack|teams|web|cli>').requiredOption('--user <id>', 'platform user id').requiredOption('--role <viewer|operator|admin>')
    .action((o: { tenant: string; platform: string; user: string; role: string }) => withApp(async (_app, em) => {
      const t = await getTenantBySlug(em, o.tenant);
      await setUserRole(em, t.id, parse(platformSchema, o.platform, '--platform'), o.user, parse(roleSchema, o.role, '--role'));
      print(`${o.user} on ${o.platform} is now ${o.role} in ${t.slug}`);
    }));
  admin.addCommand(tokenCommand(withApp));
  return admin;
}
