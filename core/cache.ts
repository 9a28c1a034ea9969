/**
 * How long chat intake reuses a workspace's (or organisation's) tenant and a person's role for
 * incoming messages (two queries less per message); an unlink or a role an admin changed
 * applies within this time. Confirmations look both up afresh.
 */
export const INTAKE_CACHE_TTL_MS = 30_000;

/** An in-memory map whose entries expire `ttlMs` after they were stored; past `max` entries the oldest goes first. */
export type TtlCache<V> = {
  /** The stored value, or what `load` returns (stored unless undefined: misses are never cached). */
  getOrLoad(key: string, load: () => Promise<V | undefined>): Promise<V | undefined>;
  delete(key: string): void;
};

export function createTtlCache<V>(opts: { ttlMs: number; max: number; now?: () => number }): TtlCache<V> {
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { at: number; value: V }>();
  return {
    async getOrLoad(key, load) {
      const hit = entries.get(key);
      if (hit && now() - hit.at < opts.ttlMs) return hit.value;
      const value = await load();
      entries.delete(key);
      if (value === undefined) return undefined;
      if (entries.size >= opts.max) entries.delete(entries.keys().next().value!);
      entries.set(key, { at: now(), value });
      return value;
    },
    delete(key) {
      entries.delete(key);
    },
  };
}
