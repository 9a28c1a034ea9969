import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { ensureDatabase } from '../core/db/embedded.ts';
import { createOrm, migrate, type Orm } from '../core/db/orm.ts';
import { installQueue } from '../core/queue/queue.ts';

/** Sandbox databases are named `rb_eval_<unix seconds at creation>_<random hex>`, so any later run can tell their age. */
const SANDBOX_NAME = /^rb_eval_(\d{1,12})_[0-9a-f]{10}$/;

/** A sandbox older than this is left over from a run that could not drop it (killed, crashed) and is dropped by the next run. */
const STALE_SANDBOX_MS = 60 * 60 * 1000;

/** A throwaway database for one evaluation run; `drop()` may be called at any stage, more than once. */
export type Sandbox = {
  readonly name: string;
  /** Creates the database, migrates it and installs the queue schema. */
  open(): Promise<Orm>;
  /** Drops the database (forcing out any connection left), once. */
  drop(): Promise<void>;
};

const adminUrlOf = (url: string) => {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  return admin.toString();
};

async function withAdmin<T>(url: string, run: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrlOf(url) });
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

const databaseNamesSchema = z.array(z.object({ datname: z.string() }));

const dropDatabase = (c: pg.Client, name: string) => c.query(`drop database if exists "${name}" with (force)`);

/** A sandbox next to `url` (same server), named with `now`; nothing exists until `open()`. */
export function createSandbox(url: string, now: Date): Sandbox {
  const name = `rb_eval_${Math.floor(now.getTime() / 1000)}_${randomBytes(5).toString('hex')}`;
  const target = new URL(url);
  target.pathname = `/${name}`;
  let orm: Orm | undefined;
  let opening: Promise<unknown> | undefined;
  let dropped: Promise<void> | undefined;
  const open = async () => {
    await ensureDatabase(adminUrlOf(url), name);
    orm = await createOrm(target.toString(), { poolMax: 4 });
    await migrate(orm);
    await installQueue(target.toString());
    return orm;
  };
  return {
    name,
    open() {
      const opened = open();
      opening = opened;
      return opened;
    },
    drop() {
      dropped ??= (async () => {
        // A drop while the database is being created waits for it, so no half-made sandbox stays behind.
        await opening?.catch(() => undefined);
        await orm?.close();
        await withAdmin(url, (c) => dropDatabase(c, name));
      })();
      return dropped;
    },
  };
}

/** Drops the sandboxes on `url`'s server created more than STALE_SANDBOX_MS before `now`; returns their names. */
export async function dropStaleSandboxes(url: string, now: Date): Promise<string[]> {
  return withAdmin(url, async (c) => {
    const { rows } = await c.query(`select datname from pg_database where datname like 'rb\\_eval\\_%'`);
    const stale = databaseNamesSchema
      .parse(rows)
      .map((r) => r.datname)
      .filter((name) => {
        const created = SANDBOX_NAME.exec(name)?.[1];
        return created !== undefined && Number(created) * 1000 < now.getTime() - STALE_SANDBOX_MS;
      });
    for (const name of stale) await dropDatabase(c, name);
    return stale;
  });
}
