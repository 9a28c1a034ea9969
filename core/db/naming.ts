import { UnderscoreNamingStrategy } from '@mikro-orm/core';

type IndexKind = Parameters<UnderscoreNamingStrategy['indexName']>[2];
const pgSuffix: Partial<Record<IndexKind, string>> = { foreign: 'fkey', unique: 'key', index: 'idx' };

/**
 * MikroORM's underscore naming with PostgreSQL's own constraint names (`<table>_<cols>_fkey`,
 * `_key`, `_pkey`, `_check`, `_idx`): the migrations are hand-written SQL that leaves constraint
 * naming to PostgreSQL, so the entities name them the same way and the schema diff stays empty.
 */
export class PostgresNamingStrategy extends UnderscoreNamingStrategy {
  override indexName(tableName: string, columns: string[], type: IndexKind): string {
    const suffix = pgSuffix[type];
    if (suffix === undefined) return super.indexName(tableName, columns, type);
    const table = tableName.includes('.') ? tableName.slice(tableName.indexOf('.') + 1) : tableName;
    return [table, ...columns.map((c) => c.replace(/\./g, '_')), suffix].join('_');
  }
}
