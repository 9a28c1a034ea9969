import { MikroKyselyPlugin, type InferKyselyDB, type Kysely, type MetadataStorage } from '@mikro-orm/postgresql';
import type { Selectable } from 'kysely';
import type { allEntities } from './entities/index.ts';
import type { EntityManager } from './orm.ts';
import './kysely-plugin-memo.ts';

const options = { columnNamingStrategy: 'property', convertValues: true } as const;

/**
 * Every table as Kysely sees it, inferred from the entities: entity property names (camelCase;
 * a relation is its foreign key, e.g. `tenant`), values as the entities type them.
 */
export type Database = InferKyselyDB<(typeof allEntities)[number], typeof options>;

/**
 * The ORM's Kysely plugin, one per ORM (its metadata). `em.getKysely(options)` builds a new
 * plugin, with a new transformer of a hundred-odd bound visitor methods, for every query builder:
 * a turn's largest avoidable CPU cost. One instance serves every query: it transforms each query
 * synchronously and keeps what a result needs per query id; with these options (no
 * onCreate/onUpdate hooks) it uses its entity manager only for the metadata and the platform, so
 * it gets an empty fork of its own rather than holding a caller's.
 */
const plugins = new WeakMap<MetadataStorage, MikroKyselyPlugin>();

function pluginFor(em: EntityManager): MikroKyselyPlugin {
  const metadata = em.getMetadata();
  let plugin = plugins.get(metadata);
  if (!plugin) {
    plugin = new MikroKyselyPlugin(em.fork({ clear: true }), options);
    plugins.set(metadata, plugin);
  }
  return plugin;
}

/**
 * A Kysely query builder on `em`'s connection — inside `em.transactional` it runs in that
 * transaction. Queries name tables by table name and columns by entity property; results come
 * back with property names and JS values (Date, number for bigint columns, parsed JSON).
 */
export function db(em: EntityManager): Kysely<Database> {
  // Without options getKysely adds no plugin: the transaction's Kysely, else the connection's.
  return em.getKysely<Database>().withPlugin(pluginFor(em));
}

/** A row of `table` as selected (property names, JS values). */
export type Row<T extends keyof Database> = Selectable<Database[T]>;
