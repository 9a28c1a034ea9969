import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * MikroORM's Kysely plugin (7.2.1) pays per query for work that depends only on the query's
 * shape; until upstream memoises it, three of its transformer's methods are wrapped here:
 *
 * - `buildGlobalFieldMap` / `buildGlobalRelationFieldMap` build, for every result, a field →
 *   property map of each entity the query touched (a hundred-odd keys per entity: the field,
 *   alias.field, alias_field, alias__field). Cached by the aliases and each metadata's identity.
 * - `transformRow` then walks every key of those maps for every row, though a row has a dozen
 *   columns. It is handed maps cut down to the keys its loop can meet — the row's columns and the
 *   property names they are renamed to, in the maps' order — cached per map and row shape, so it
 *   does exactly what it did, over a dozen keys instead of hundreds.
 * - `findEntityMetadata(name)` scans all entities for a table name at every table reference;
 *   answers are cached per transformer (entity metadata is fixed once the ORM is initialised).
 *
 * The maps are only read by the plugin, so sharing them is safe.
 */

type EntityMap = Map<string, object>;
type Builder = (this: unknown, entityMap: EntityMap) => Record<string, unknown>;

/** Whether a prototype still has a method where this module expects one of type `F` (what it wraps is checked, not trusted). */
const isMethod = <F>(f: unknown): f is F => typeof f === 'function';

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

type FieldMap = Record<string, { name: string }>;
type RelationMap = Record<string, string>;
type RowTransform = (this: unknown, row: Record<string, unknown>, fields: FieldMap, relations: RelationMap) => unknown;
type MetadataLookup = (this: object, name: string) => unknown;

/** `map` with only `keys`, in `map`'s own order (the order the transformer's loops follow). */
function only<V>(map: Record<string, V>, keys: ReadonlySet<string>): Record<string, V> {
  const cut: Record<string, V> = {};
  for (const key of Object.keys(map)) if (keys.has(key)) cut[key] = map[key]!;
  return cut;
}

/**
 * The keys `transformRow`'s loops can find `in` a row being transformed: its columns, the names of
 * Object.prototype (`in` sees them), and, repeatedly, the property names a present field is
 * renamed to and the relation names a present foreign key moves to.
 */
function reachableKeys(row: Record<string, unknown>, fields: FieldMap, relations: RelationMap): Set<string> {
  const keys = new Set(Object.keys(row));
  for (const key of Object.getOwnPropertyNames(Object.prototype)) keys.add(key);
  for (const key of keys) {
    // A Set iterates keys added while iterating: renames of renames are followed.
    if (Object.hasOwn(fields, key)) keys.add(fields[key]!.name);
    if (Object.hasOwn(relations, key)) keys.add(relations[key]!);
  }
  return keys;
}

function rowsOverCutMaps(transform: RowTransform): RowTransform {
  const cuts = new WeakMap<FieldMap, Map<string, [FieldMap, RelationMap]>>();
  return function transformRowOverCutMaps(this: unknown, row, fields, relations) {
    let byShape = cuts.get(fields);
    if (!byShape) cuts.set(fields, (byShape = new Map()));
    // The relation map goes with the field map (both from one entity map), so the row's columns name the cut.
    const shape = Object.keys(row).join('\u0000');
    let cut = byShape.get(shape);
    if (!cut) {
      if (byShape.size >= MAX_SHAPES) byShape.clear();
      const keys = reachableKeys(row, fields, relations);
      cut = [only(fields, keys), only(relations, keys)];
      byShape.set(shape, cut);
    }
    return transform.call(this, row, cut[0], cut[1]);
  };
}

function lookupsCached(lookup: MetadataLookup): MetadataLookup {
  const found = new WeakMap<object, Map<string, unknown>>();
  return function cachedLookup(this: object, name: string) {
    let byName = found.get(this);
    if (!byName) found.set(this, (byName = new Map()));
    if (!byName.has(name)) byName.set(name, lookup.call(this, name));
    return byName.get(name);
  };
}

/** Whether the plugin's per-query work is cached (false after an upgrade that renamed what this wraps). */
export const pluginMemoised: boolean = await (async () => {
  const proto = await transformerPrototype().catch(() => undefined);
  const fields = proto?.buildGlobalFieldMap;
  const relations = proto?.buildGlobalRelationFieldMap;
  const transformRow = proto?.transformRow;
  const findEntityMetadata = proto?.findEntityMetadata;
  if (
    !proto ||
    !isMethod<Builder>(fields) ||
    !isMethod<Builder>(relations) ||
    !isMethod<RowTransform>(transformRow) ||
    !isMethod<MetadataLookup>(findEntityMetadata)
  )
    return false;
  proto.buildGlobalFieldMap = memoised(fields, true);
  proto.buildGlobalRelationFieldMap = memoised(relations, false);
  proto.transformRow = rowsOverCutMaps(transformRow);
  proto.findEntityMetadata = lookupsCached(findEntityMetadata);
  return true;
})();
