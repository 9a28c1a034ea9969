import { createQueryPool } from './core/sql/pool.ts';
import { runGuardedQuery } from './core/sql/runner.ts';
import { createOrm } from './core/db/orm.ts';
import { makeTenant } from './test/support/fixtures.ts';
const url = 'postgres://postgres@127.0.0.1:5432/sec_scratch';
const orm = await createOrm(url); const t = await makeTenant(orm.em.fork(), 'acme'); await orm.close();
const pool = createQueryPool(url);
for (const sql of [`select rpad('x', 5000000, 'y') as big, pim_id from v_products, generate_series(1, 10)`]) {
try { const r = await runGuardedQuery(pool, t.tenant.id, sql); console.log(r.rowCount, r.truncated, r.valuesCut); } catch (e) { console.log(e.message, e.cause?.message, e.cause); }
}
await pool.end();
