import { runMigrations } from 'graphile-worker';
import { createPgPool } from '../db/pool.ts';

/** Installs or upgrades graphile-worker's schema in the database (on a pool this function owns and fully closes). */
export async function installQueue(url: string): Promise<void> {
  const pgPool = createPgPool(url, 1);
  try {
    await runMigrations({ pgPool });
  } finally {
    await pgPool.end();
  }
}
