import pg from 'pg';

/**
 * One `select 1` on a connection of its own, given up after `timeoutMs` to connect and as much to
 * answer: whether the database answers at all, whatever the pools are busy with.
 */
export async function pingOnFreshConnection(url: string, timeoutMs = 2_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A connection that breaks later is already counted as this ping's failure.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => {});
  }
}
