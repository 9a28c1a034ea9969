import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * MikroORM's Kysely plugin (7.2.1) maps every result back to entity property names by building,
 * for every query, a field → property map of each entity the query touched (a hundred-odd keys
 * per entity: the field, alias.field, alias_field, alias__field). Those maps depend only on the
 * query's aliases and entity metadata, and a turn's queries rebuilt them a few dozen times: the
 * largest avoidable CPU of a turn after the plugin itself (built once, core/db/kysely.ts). Until
 * upstream memoises them, the two builders are wrapped here with a cache keyed by the aliases and
 * the identity of each metadata object. The maps are only read by the plugin, so sharing is safe.
 */

type EntityMap = Map<string, object>;
type Builder = (this: unknown, entityMap: EntityMap) => Record<string, unknown>;

const isBuilder = (f: unknown): f is Builder => typeof f === 'function';

/** Different query shapes a process meets are few; this bounds a process that creates many ORMs (tests). */
const MAX_SHAPES = 2_000;

const metadataIds = new WeakMap<object, number>();
let lastId = 0;
const idOf = (meta: object): number => {
  let id = metadataIds.get(meta);
  if (id === undefined) metadataIds.set(meta, (id = ++lastId));
  return id;
};

function shapeKey(entityMap: EntityMap): string {
  let key = '';
  for (const [alias, meta] of entityMap) key += `${alias}\u0000${idOf(meta)}\u0001`;
  return key;
}

/** Field maps built so far (a query shape's first result, or one after the cache was cleared). */
let builds = 0;

/** How many field maps the plugin has built in this process: it grows with new query shapes, not with queries. */
export const resultMapBuilds = (): number => builds;

function memoised(build: Builder, counted: boolean): Builder {
  const cache = new Map<string, Record<string, unknown>>();
  return function cachedBuild(this: unknown, entityMap: EntityMap) {
    const key = shapeKey(entityMap);
    let map = cache.get(key);
    if (!map) {
      if (cache.size >= MAX_SHAPES) cache.clear();
      map = build.call(this, entityMap);
      cache.set(key, map);
      if (counted) builds += 1;
    }
    return map;
  };
}

/**
 * The transformer's prototype, from its module by file: the package exports only its entry point.
 * It is resolved from where the dialect package the ORM uses resolves it, so it is the instance
 * the plugin imports even if another copy were installed elsewhere.
 */
async function transformerPrototype(): Promise<Record<string, unknown> | undefined> {
  const dialect = createRequire(import.meta.url).resolve('@mikro-orm/postgresql');
  const entry = createRequire(dialect).resolve('@mikro-orm/sql');
  const module: unknown = await import(pathToFileURL(join(dirname(entry), 'plugin', 'transformer.js')).href);
  if (typeof module !== 'object' || module === null || !('MikroTransformer' in module)) return undefined;
  const transformer = module.MikroTransformer;
  if (typeof transformer !== 'function' || typeof transformer.prototype !== 'object') return undefined;
  const proto: Record<string, unknown> = transformer.prototype;
  return proto;
}

/** Whether the plugin's result maps are cached (false after an upgrade that renamed what this wraps). */
export const resultMapsCached: boolean = await (async () => {
  const proto = await transformerPrototype().catch(() => undefined);
  const fields = proto?.buildGlobalFieldMap;
  const relations = proto?.buildGlobalRelationFieldMap;
  if (!proto || !isBuilder(fields) || !isBuilder(relations)) return false;
  proto.buildGlobalFieldMap = memoised(fields, true);
  proto.buildGlobalRelationFieldMap = memoised(relations, false);
  return true;
})();
