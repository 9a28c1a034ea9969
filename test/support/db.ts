import { createServer as createNetServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../core/config.ts';
import pg from 'pg';
import { inject } from 'vitest';
import { createOrm, migrate, type Orm } from '../../core/db/orm.ts';
import { installQueue } from '../../core/queue/queue.ts';
import { createQueryPool, type QueryPool } from '../../core/db/query-pool.ts';

/** A fresh, migrated database of its own for one test file, with the pool query_database runs on. */
export type TestDatabase = { url: string; orm: Orm; queryPool: QueryPool; drop(): Promise<void> };

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `rb_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const orm = await createOrm(url.toString(), { poolMax: 5 });
  await migrate(orm);
  // Dispatching render jobs adds queue jobs in the same transaction, so every test database has the queue schema.
  await installQueue(url.toString());
  const queryPool = createQueryPool(url.toString());
  return {
    url: url.toString(),
    orm,
    queryPool,
    async drop() {
      await queryPool.end();
      await orm.close();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Configuration for an app on `db`, with a throwaway DATA_DIR (rendered files, the generated secrets key). */
export function testConfig(db: Pick<TestDatabase, 'url'>, env: Record<string, string> = {}): Config {
  return loadConfig({ DATABASE_URL: db.url, DATA_DIR: mkdtempSync(join(tmpdir(), 'renderbot-test-')), ...env });
}

/** A TCP port free right now on 127.0.0.1, for servers whose URL must be configured before they start. */
export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
