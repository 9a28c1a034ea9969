import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { createPgPool } from './db/pool.ts';
import { RATE_LIMIT_CONNECTIONS } from './config.ts';

/** The verdict of a limit: go on, or wait `retryAfterS` seconds. `unavailable`: the counters could not be read. */
export type RateVerdict = { ok: true } | { ok: false; retryAfterS: number; unavailable?: boolean };

/** A rate limit: each `take` counts one request of `key`. */
export type RateLimit = { take(key: string): Promise<RateVerdict> };

/** The web API's limits and the connections they use. */
export type RateLimits = { api: RateLimit; login: RateLimit; close(): Promise<void> };

/** Table created by migration Migration20261125001300_rate_limits. */
const TABLE = 'rate_limit';

/**
 * Rate limits whose counters live in PostgreSQL (rate-limiter-flexible's RateLimiterPostgres on
 * the `rate_limit` table), so they hold across every process on the database: `api` allows
 * `apiPerMinute` requests per key (API token) and `login` `loginsPerMinute` sign-in attempts per
 * key (client address), each in fixed one-minute windows. Uses a pool of two connections of its
 * own. When the counters cannot be read the request is refused (`unavailable`), never waved through.
 */
export function createRateLimits(
  url: string,
  opts: { apiPerMinute: number; loginsPerMinute: number; onError?: (err: Error) => void },
): RateLimits {
  const pool = createPgPool(url, RATE_LIMIT_CONNECTIONS, opts.onError, {
    connectionTimeoutMillis: 5_000,
    allowExitOnIdle: true,
  });
  const limiter = (keyPrefix: string, points: number): RateLimit => {
    const store = new RateLimiterPostgres({
      storeClient: pool,
      storeType: 'pool',
      tableName: TABLE,
      tableCreated: true,
      keyPrefix,
      points,
      duration: 60,
    });
    return {
      async take(key) {
        try {
          await store.consume(key);
          return { ok: true };
        } catch (res) {
          if (res instanceof RateLimiterRes)
            return { ok: false, retryAfterS: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
          opts.onError?.(res instanceof Error ? res : new Error(String(res)));
          return { ok: false, retryAfterS: 5, unavailable: true };
        }
      },
    };
  };
  return {
    api: limiter('api', opts.apiPerMinute),
    login: limiter('login', opts.loginsPerMinute),
    close: () => pool.end(),
  };
}
