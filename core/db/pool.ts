import pg from 'pg';

/**
 * A node-postgres pool whose idle and checked-out clients never crash the process when the
 * server drops them (shutdown, failover); the query in flight still rejects on its own.
 */
export function createPgPool(
  url: string,
  max: number,
  onError: (err: Error) => void = () => {},
  opts: Omit<pg.PoolConfig, 'connectionString' | 'max'> = {},
): pg.Pool {
  const pool = new pg.Pool({ ...opts, connectionString: url, max });
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}
