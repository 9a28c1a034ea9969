import type { InferKyselyDB, Kysely } from '@mikro-orm/postgresql';
import type { Selectable } from 'kysely';
import type { allEntities } from './entities/index.ts';
import type { EntityManager } from './orm.ts';

const options = { columnNamingStrategy: 'property', convertValues: true } as const;

/**
 * Every table as Kysely sees it, inferred from the entities: entity property names (camelCase;
 * a relation is its foreign key, e.g. `tenant`), values as the entities type them.
 */
export type Database = InferKyselyDB<(typeof allEntities)[number], typeof options>;

/**
 * A Kysely query builder on `em`'s connection — inside `em.transactional` it runs in that
 * transaction. Queries name tables by table name and columns by entity property; results come
 * back with property names and JS values (Date, number for bigint columns, parsed JSON).
 */
export function db(em: EntityManager): Kysely<Database> {
  return em.getKysely<Database>(options);
}

/** A row of `table` as selected (property names, JS values). */
export type Row<T extends keyof Database> = Selectable<Database[T]>;
