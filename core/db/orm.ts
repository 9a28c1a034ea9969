import { MikroORM, type EntityManager, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { migrationsList } from '../../migrations/index.ts';
import { allEntities } from './entities/index.ts';
import type { Logger } from '../logger.ts';
import { PostgresNamingStrategy } from './naming.ts';
import { countingClient } from './statements.ts';

export type { EntityManager };
export type Orm = MikroORM;

/**
 * The ORM's configuration on `url`: the entities, PostgreSQL's constraint names, the migrations.
 * The schema generator never manages graphile-worker's schema or the query_database views (v_*),
 * which only the migrations create.
 */
export function ormOptions(url: string, opts: { poolMax?: number } = {}): Options {
  return {
    clientUrl: url,
    entities: [...allEntities],
    namingStrategy: PostgresNamingStrategy,
    schemaGenerator: { ignoreSchema: ['graphile_worker'], skipViews: [/^v_/] },
    extensions: [Migrator],
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    // Merged into node-postgres's pool options: its clients count their statements (renderbot_db_statements_total).
    driverOptions: { Client: countingClient('orm') },
    debug: false,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: false },
  };
}

/** Opens the ORM on `url` (no schema changes; call `migrate`). */
export async function createOrm(url: string, opts: { log?: Logger; poolMax?: number } = {}): Promise<Orm> {
  return MikroORM.init(ormOptions(url, opts));
}

/** Applies pending migrations; returns their names. */
export async function migrate(orm: Orm): Promise<string[]> {
  const done = await orm.migrator.up();
  return done.map((m) => m.name);
}
