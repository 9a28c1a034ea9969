import { z } from 'zod';
import { migrationsList } from '../../migrations/index.ts';

/** Runs one parameterless query; a `pg.Client` or `pg.Pool` fits. */
export type Queryable = { query(sql: string): Promise<{ rows: unknown[] }> };

const tableRow = z.object({ present: z.boolean() });
const nameRow = z.object({ name: z.string() });

/**
 * Names of the migrations `migrate` would apply to the database behind `client`, in order; empty
 * when it is up to date. Only reads: an unmigrated database (no migrations table) has every
 * migration pending, and nothing is created to find that out.
 */
export async function pendingMigrations(client: Queryable): Promise<string[]> {
  const [table] = (await client.query(`select to_regclass('mikro_orm_migrations') is not null as present`)).rows.map(
    (r) => tableRow.parse(r),
  );
  if (!table?.present) return migrationsList.map((m) => m.name);
  const applied = new Set(
    (await client.query('select name from mikro_orm_migrations')).rows.map((r) => nameRow.parse(r).name),
  );
  return migrationsList.map((m) => m.name).filter((name) => !applied.has(name));
}
