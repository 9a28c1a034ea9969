import type { Config } from '../../core/config.ts';
import { createOrm } from '../../core/db/orm.ts';
import type { Logger } from '../../core/logger.ts';
import { listStoredSecrets } from '../../core/tenancy/stored-secrets.ts';
import { checkDatabase } from './database.ts';
import { checkFarms } from './farms.ts';
import { checkModels } from './models.ts';
import { checkPublicUrl } from './public-url.ts';
import { CHECK_TIMEOUT_MS, fail, reasonOf, skip, withTimeout, type CheckLine } from './report.ts';
import { openSecrets, type OpenSecrets } from './secrets.ts';
import { checkSlack } from './slack.ts';
import { checkTeams } from './teams.ts';

/** The report, and every secret value it must not show (see `formatLine`). */
export type DoctorReport = { lines: CheckLine[]; secrets: string[] };

const NOT_READY = 'the database is not ready (see above)';

/**
 * Runs every check of `renderbot doctor` concurrently — each network call bounded by
 * `timeoutMs` — and returns the lines in a fixed order: database, migrations, SECRETS_KEY, Slack,
 * Teams, models, render farms, public URL. Only reads: nothing is migrated, created or sent
 * beyond the probes themselves. A check that throws becomes a FAIL line.
 */
export async function runDoctor(config: Config, log: Logger, timeoutMs = CHECK_TIMEOUT_MS): Promise<DoctorReport> {
  const quiet = log.child({ component: 'doctor' }, { level: 'silent' });
  const database = checkDatabase(config, log, timeoutMs);
  const stored: Promise<OpenSecrets | { error: CheckLine }> = database.then(async (db) => {
    if (!db.url) return { error: skip('SECRETS_KEY', NOT_READY) };
    try {
      const orm = await withTimeout(createOrm(db.url, { poolMax: 2 }), timeoutMs);
      try {
        return openSecrets(config.secretsKey, await withTimeout(listStoredSecrets(orm.em.fork()), timeoutMs));
      } finally {
        await orm.close();
      }
    } catch (err) {
      return {
        error: fail('stored secrets', `reading them failed: ${reasonOf(err)}`, 'check the database (see above)'),
      };
    }
  });
  const opened = async () => {
    const s = await stored;
    return 'error' in s ? undefined : s;
  };

  const [db, secrets, slack, teams, models, farms, publicUrl] = await Promise.all([
    database,
    stored.then((s) => ('error' in s ? s.error : s.line)),
    guard(
      'Slack',
      checkSlack(config, async () => (await opened())?.installations ?? { unavailable: NOT_READY }, timeoutMs),
    ),
    guard('Teams', checkTeams(config, timeoutMs)),
    guard(
      'models',
      opened().then((s) => (s ? checkModels(s.tenants, quiet, timeoutMs) : [skip('models', NOT_READY)])),
    ),
    guard(
      'render farms',
      opened().then((s) => (s ? checkFarms(s.tenants, timeoutMs) : [skip('render farms', NOT_READY)])),
    ),
    guard('public URL', checkPublicUrl(config, timeoutMs)),
  ]);
  await db.close();
  return {
    lines: [...db.lines, secrets, ...slack, ...teams, ...models, ...farms, ...publicUrl],
    secrets: [...configSecrets(config), ...((await opened())?.plain ?? [])],
  };
}

/** A check's lines, or one FAIL line naming what threw. */
async function guard(what: string, check: Promise<CheckLine | CheckLine[]>): Promise<CheckLine[]> {
  try {
    const lines = await check;
    return Array.isArray(lines) ? lines : [lines];
  } catch (err) {
    return [fail(what, `the check itself failed: ${reasonOf(err)}`, 'run with LOG_LEVEL=debug and report it')];
  }
}

/** Secret values in the configuration, in every spelling a message could show them. */
function configSecrets(config: Config): string[] {
  const password = config.DATABASE_URL ? decodeURIComponent(new URL(config.DATABASE_URL).password) : '';
  return [
    config.secretsKey.toString('base64'),
    config.secretsKey.toString('hex'),
    password,
    config.SLACK_BOT_TOKEN,
    config.SLACK_SIGNING_SECRET,
    config.SLACK_CLIENT_SECRET,
    config.SLACK_STATE_SECRET,
    config.SLACK_APP_TOKEN,
    config.MicrosoftAppPassword,
    config.METRICS_TOKEN,
  ].filter((s): s is string => Boolean(s));
}
