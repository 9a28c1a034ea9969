import { describe, expect, it } from 'vitest';
import { createTtlCache } from '../core/cache.ts';

describe('createTtlCache', () => {
  it('reuses a value until it expires, never caches a miss, and drops the oldest entry past max', async () => {
    let now = 0;
    let loads = 0;
    const cache = createTtlCache<string>({ ttlMs: 100, max: 2, now: () => now });
    const load = (v: string | undefined) => async () => {
      loads++;
      return v;
    };
    expect(await cache.getOrLoad('a', load('A1'))).toBe('A1');
    now = 99;
    expect(await cache.getOrLoad('a', load('A2'))).toBe('A1');
    now = 100;
    expect(await cache.getOrLoad('a', load('A3'))).toBe('A3');
    expect(await cache.getOrLoad('miss', load(undefined))).toBeUndefined();
    expect(await cache.getOrLoad('miss', load('now there'))).toBe('now there');
    expect(await cache.getOrLoad('c', load('C'))).toBe('C');
    expect(await cache.getOrLoad('a', load('A4'))).toBe('A4'); // 'a' was the oldest of three
    expect(loads).toBe(6);
  });
});
