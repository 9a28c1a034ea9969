import { z } from 'zod';
import { RenderBotError } from '../../core/errors.ts';
import { decryptSecret } from '../../core/secrets.ts';
import { readTenantAi, type TenantAi } from '../../core/llm/settings.ts';
import type { StoredInstallation, TenantSecrets } from '../../core/tenancy/stored-secrets.ts';
import { fail, ok, skip, type CheckLine } from './report.ts';

/** Why a stored secret is of no use here. */
type Unusable = { unusable: 'undecryptable' | 'invalid' };

/** A tenant with its secrets decrypted where possible. */
export type OpenTenant = {
  slug: string;
  ai: TenantAi | Unusable | undefined;
  farm: { url: string; secret: string } | Unusable | undefined;
};

/** A Slack installation with its bot token decrypted where possible; `label` names the workspace. */
export type OpenInstallation = { label: string; botToken: string | Unusable | undefined };

/** What `openSecrets` found: the line about SECRETS_KEY, the decrypted values, and every plain secret (for scrubbing output). */
export type OpenSecrets = {
  line: CheckLine;
  tenants: OpenTenant[];
  installations: OpenInstallation[];
  plain: string[];
};

const installationSecret = z.object({
  bot: z.object({ token: z.string().optional() }).optional(),
  user: z.object({ token: z.string().optional() }).optional(),
});

/**
 * Decrypts every stored secret with `secretsKey` — tenants' AI keys and farm secrets, Slack
 * installations — and says in one line whether SECRETS_KEY opens them all, naming those it
 * does not open.
 */
export function openSecrets(
  secretsKey: Buffer,
  stored: { tenants: TenantSecrets[]; installations: StoredInstallation[] },
): OpenSecrets {
  const plain: string[] = [];
  const failed: string[] = [];
  let total = 0;
  const open = <T>(what: string, read: () => T): T | Unusable => {
    total++;
    try {
      return read();
    } catch (err) {
      if (err instanceof RenderBotError && err.code === 'secret_undecryptable') {
        failed.push(what);
        return { unusable: 'undecryptable' };
      }
      return { unusable: 'invalid' };
    }
  };
  const tenants = stored.tenants.map((t): OpenTenant => {
    const ai = t.aiKeyEncrypted ? open(`AI key of tenant ${t.slug}`, () => readTenantAi(secretsKey, t)) : undefined;
    if (ai && !('unusable' in ai)) plain.push(ai.apiKey);
    const farm =
      t.rendererBackend === 'http' && t.rendererUrl && t.rendererSecretEncrypted
        ? open(`render-farm secret of tenant ${t.slug}`, () => ({
            url: t.rendererUrl!,
            secret: decryptSecret(secretsKey, t.rendererSecretEncrypted!),
          }))
        : undefined;
    if (farm && !('unusable' in farm)) plain.push(farm.secret);
    return { slug: t.slug, ai, farm };
  });
  const installations = stored.installations.map((i): OpenInstallation => {
    const label = `Slack workspace ${i.teamName ? `${i.teamName} ` : ''}(${(i.isEnterpriseInstall ? i.enterpriseId : i.teamId) ?? '?'})`;
    const secret = open(`Slack installation of ${label}`, () =>
      installationSecret.parse(JSON.parse(decryptSecret(secretsKey, i.installationEncrypted))),
    );
    if ('unusable' in secret) return { label, botToken: secret };
    plain.push(...[secret.bot?.token, secret.user?.token].filter((s): s is string => Boolean(s)));
    return { label, botToken: secret.bot?.token };
  });
  return { line: keyLine(total, failed), tenants, installations, plain };
}

function keyLine(total: number, failed: string[]): CheckLine {
  const what = 'SECRETS_KEY';
  if (total === 0) return skip(what, 'no secrets stored yet');
  if (failed.length === 0) return ok(`${what} decrypts the stored secrets`, `${total} of ${total}`);
  const named =
    failed.length > 3 ? `${failed.slice(0, 3).join(', ')} and ${failed.length - 3} more` : failed.join(', ');
  return fail(
    what,
    `cannot decrypt ${failed.length} of ${total} stored secrets (${named})`,
    'set SECRETS_KEY (or DATA_DIR/secrets.key) back to the key they were stored with, or store them again: renderbot admin tenant ai / renderer …, reinstall Slack via /slack/install',
  );
}
