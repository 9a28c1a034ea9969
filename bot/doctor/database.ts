import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../../core/config.ts';
import { startEmbeddedCluster, type EmbeddedCluster } from '../../core/db/embedded.ts';
import { pendingMigrations } from '../../core/db/migration-status.ts';
import type { Logger } from '../../core/logger.ts';
import { fail, ok, reasonOf, skip, withTimeout, type CheckLine } from './report.ts';

/** What the database checks found; `url` is set when the database is reachable and migrated (the other checks read it). */
export type DatabaseCheck = { lines: CheckLine[]; url?: string; close(): Promise<void> };

/** Starting (or joining) the embedded cluster can take longer than one network check. */
const EMBEDDED_START_MS = 60_000;

const WHAT = 'database';
const MIGRATED = 'database migrations';

/**
 * Checks that the database answers and has no pending migrations, reading only: DATABASE_URL,
 * or without it the embedded cluster in DATA_DIR/pg, which is joined when it runs and started
 * (and stopped again by `close`) when it does not — never created.
 */
export async function checkDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'dataDir'>,
  log: Logger,
  timeoutMs: number,
): Promise<DatabaseCheck> {
  let cluster: EmbeddedCluster | undefined;
  const close = async () => {
    if (cluster?.owned) await cluster.stop();
  };
  let url = config.DATABASE_URL;
  if (!url) {
    const dir = join(config.dataDir, 'pg');
    if (!existsSync(join(dir, 'PG_VERSION'))) {
      return {
        close,
        lines: [
          fail(
            WHAT,
            `DATABASE_URL is not set and there is no embedded database in ${dir}`,
            'set DATABASE_URL, or run renderbot migrate to create the embedded one',
          ),
          skip(MIGRATED, 'no database'),
        ],
      };
    }
    try {
      cluster = await withTimeout(startEmbeddedCluster(dir, log.child({ component: 'postgres' })), EMBEDDED_START_MS);
    } catch (err) {
      return {
        close,
        lines: [
          fail(
            WHAT,
            `the embedded PostgreSQL in ${dir} does not start: ${reasonOf(err)}`,
            'look at its log in that folder, or set DATABASE_URL',
          ),
          skip(MIGRATED, 'no database'),
        ],
      };
    }
    url = cluster.url('renderbot');
  }
  const where = describeUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {});
  try {
    let version: string;
    try {
      await client.connect();
      const res = await client.query<{ v: string }>(`select current_setting('server_version') as v`);
      version = res.rows[0]?.v.split(' ')[0] ?? '?';
    } catch (err) {
      return {
        close,
        lines: [unreachable(where, err, Boolean(config.DATABASE_URL)), skip(MIGRATED, 'the database is not reachable')],
      };
    }
    const pending = await pendingMigrations(client);
    const lines = [ok(`${WHAT} reachable`, `PostgreSQL ${version} at ${where}`)];
    if (pending.length === 0) return { close, url, lines: [...lines, ok(`${MIGRATED} applied`, 'none pending')] };
    const names = pending.length === 1 ? pending[0]! : `${pending[0]} … ${pending.at(-1)}`;
    return {
      close,
      lines: [
        ...lines,
        fail(
          MIGRATED,
          `${pending.length} pending (${names})`,
          'run renderbot migrate (serve applies them too when it starts)',
        ),
      ],
    };
  } catch (err) {
    return {
      close,
      lines: [
        fail(WHAT, `reading it failed: ${reasonOf(err)}`, "check that DATABASE_URL points at RenderBot's database"),
      ],
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Host, port and database name: never the user or password. */
function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
}

function unreachable(where: string, err: unknown, external: boolean): CheckLine {
  const code = (err as { code?: unknown }).code;
  if (code === '28P01' || code === '28000')
    return fail(WHAT, `${where} refused the login`, 'check the user and password in DATABASE_URL');
  if (code === '3D000')
    return fail(
      WHAT,
      `${where} does not exist`,
      external ? 'create that database, or fix the name in DATABASE_URL' : 'run renderbot migrate',
    );
  return fail(
    WHAT,
    `${where} is not reachable: ${reasonOf(err)}`,
    external
      ? 'check DATABASE_URL and that PostgreSQL runs and accepts connections from here'
      : 'check the embedded PostgreSQL in DATA_DIR/pg',
  );
}
