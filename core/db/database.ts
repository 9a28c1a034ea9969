import { join } from 'node:path';
import type { Config } from '../config.ts';
import { createIntakePool, type IntakePool } from './intake-pool.ts';
import { createDatabaseAvailability, type DatabaseAvailability } from '../availability.ts';
import type { Logger } from '../logger.ts';
import { ensureDatabase, startEmbeddedCluster, type EmbeddedCluster } from './embedded.ts';
import { createOrm, migrate, type Orm } from './orm.ts';
import { createQueryPool, type QueryPool } from './query-pool.ts';
import { pingOnFreshConnection } from './fresh-ping.ts';

/** An open database: the ORM plus the URL (graphile-worker connects with it too). */
export type Database = {
  orm: Orm;
  url: string;
  /** True when this run created the database (the embedded default seeds it then). */
  created: boolean;
  /** Names of migrations applied while opening. */
  migrated: string[];
  /** The small pool model-written SQL runs on (QUERY_POOL_SIZE connections, opened on first use). */
  queryPool: QueryPool;
  /** The connections platform requests are stored on before their acknowledgement (core/db/intake-pool.ts). */
  intakePool: IntakePool;
  /** Whether the database can be reached now: errors are reported to it, it logs outages once and tells when the database is back. */
  availability: DatabaseAvailability;
  close(): Promise<void>;
};

/**
 * Opens `DATABASE_URL`, or with none the embedded PostgreSQL 18 cluster in DATA_DIR/pg
 * (started or joined), and applies pending migrations.
 */
export async function openDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'dataDir'> & Partial<Pick<Config, 'QUERY_POOL_SIZE'>>,
  log: Logger,
  opts: { poolMax?: number } = {},
): Promise<Database> {
  let cluster: EmbeddedCluster | undefined;
  let url = config.DATABASE_URL;
  let created = false;
  if (!url) {
    cluster = await startEmbeddedCluster(join(config.dataDir, 'pg'), log.child({ component: 'postgres' }));
    created = await ensureDatabase(cluster.url('postgres'), 'renderbot');
    url = cluster.url('renderbot');
  }
  const orm = await createOrm(url, { log, poolMax: opts.poolMax });
  try {
    const migrated = await migrate(orm);
    if (migrated.length) log.info({ migrated }, 'applied migrations');
    const availability = createDatabaseAvailability({
      ping: () => orm.em.fork().execute('select 1'),
      probe: () => pingOnFreshConnection(url),
      log,
    });
    const intakePool = createIntakePool(
      url,
      (err) => availability.report(err) || log.warn({ err: err.message }, 'intake pool connection dropped'),
    );
    const queryPool = createQueryPool(
      url,
      config.QUERY_POOL_SIZE,
      (err) => availability.report(err) || log.warn({ err: err.message }, 'query pool connection dropped'),
    );
    return {
      orm,
      url,
      created,
      migrated,
      queryPool,
      intakePool,
      availability,
      async close() {
        availability.close();
        await queryPool.end();
        await intakePool.end();
        await orm.close();
        if (cluster?.owned) await cluster.stop();
      },
    };
  } catch (err) {
    await orm.close();
    if (cluster?.owned) await cluster.stop();
    throw err;
  }
}
