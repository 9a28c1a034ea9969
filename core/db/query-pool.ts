import type pg from 'pg';
import { createPgPool } from './pool.ts';
import { countingClient } from './statements.ts';

/** The connections model-written SQL (query_database) runs on; nothing else uses them. */
export type QueryPool = pg.Pool;

/** Connections in the query pool unless QUERY_POOL_SIZE says otherwise. */
const DEFAULT_QUERY_POOL_SIZE = 4;
/** How long a query waits for a free connection of the pool before the model hears "busy". */
const WAIT_MS = 15_000;

/**
 * A small pool of its own for model SQL (docs/design.md §7): heavy queries of one tenant queue for these
 * few connections and never take the ones that serve intake, tokens and other tenants' turns.
 */
export function createQueryPool(
  url: string,
  size = DEFAULT_QUERY_POOL_SIZE,
  onError?: (err: Error) => void,
): QueryPool {
  return createPgPool(url, size, onError, {
    Client: countingClient('query'),
    connectionTimeoutMillis: WAIT_MS,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
  });
}
