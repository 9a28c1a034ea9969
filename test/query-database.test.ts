import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgRow } from './support/rows.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, makeTurn, type TenantFixture } from './support/fixtures.ts';
import type { EntityManager } from '../core/db/orm.ts';
import { z } from 'zod';
import { countRow, idRow, row } from '../core/db/sql.ts';
import { ModelBehaviourError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { runGuardedQuery, QUERY_ROLE } from '../core/sql/runner.ts';
import { createQueryPool } from '../core/db/query-pool.ts';
import { queryDatabaseTool } from '../core/tools/query_database.ts';
import type { ToolDeps } from '../core/tools/tool.ts';

let db: TestDatabase;
let alpha: TenantFixture;
let bravo: TenantFixture;
let charlie: TenantFixture;
let ctxA: ToolDeps;
let ctxB: ToolDeps;
let ctxC: ToolDeps;

/** An order with one item and one render job per product, inserted directly. */
async function makeOrder(
  em: EntityManager,
  t: TenantFixture,
  seq: number,
  status: string,
  jobStatus: string,
): Promise<string> {
  const number = `SA-2026-${String(seq).padStart(5, '0')}`;
  const order = await row(
    em,
    idRow,
    `insert into render_order (tenant_id, order_number, status, output_type_id) values (?, ?, ?, ?) returning id`,
    [t.tenant.id, number, status, t.outputTypeIds['WebP 1024x1024']],
  );
  for (const productId of Object.values(t.productIds)) {
    const item = await row(
      em,
      idRow,
      `insert into order_item (tenant_id, order_id, product_id) values (?, ?, ?) returning id`,
      [t.tenant.id, order!.id, productId],
    );
    await em.execute(
      `insert into render_job (tenant_id, order_id, order_item_id, product_id, status) values (?, ?, ?, ?, ?)`,
      [t.tenant.id, order!.id, item!.id, productId, jobStatus],
    );
  }
  return number;
}

async function ctxFor(em: EntityManager, t: TenantFixture): Promise<ToolDeps> {
  return {
    turn: await makeTurn(em, t.tenant.id),
    em: db.orm.em.fork(),
    log: createLogger('silent'),
    now: () => new Date(),
    queryPool: db.queryPool,
  };
}

const run = (ctx: ToolDeps, sql: string) => queryDatabaseTool.run(ctx, { sql });

/** The error a call throws, for asserting its code and message. */
async function failure(promise: Promise<unknown>): Promise<ModelBehaviourError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelBehaviourError);
  return err as ModelBehaviourError;
}

beforeAll(async () => {
  db = await createTestDatabase();
  const em = db.orm.em.fork();
  alpha = await makeTenant(em, 'alpha', {
    products: [
      { pimId: 'A-1', name: 'Alpha bearing', category: 'Kugellager', attributes: { color: 'red', size: 'L' } },
      { pimId: 'A-2', name: 'Alpha seal', category: 'Dichtungen' },
      { pimId: 'A-3', name: 'Alpha roller', category: 'Rollenlager' },
    ],
  });
  bravo = await makeTenant(em, 'bravo');
  charlie = await makeTenant(em, 'charlie', { products: [] });
  await em.execute(
    `insert into product (tenant_id, pim_id, name, category)
    select ?, 'C-' || lpad(i::text, 4, '0'), 'Charlie ' || i, 'Bulk' from generate_series(1, 250) i`,
    [charlie.tenant.id],
  );
  await makeOrder(em, alpha, 1, 'completed', 'completed');
  await makeOrder(em, alpha, 2, 'rendering', 'running');
  await makeOrder(em, bravo, 1, 'failed', 'failed');
  ctxA = await ctxFor(em, alpha);
  ctxB = await ctxFor(em, bravo);
  ctxC = await ctxFor(em, charlie);
});
afterAll(async () => {
  await db?.drop();
});

describe('query_database: tenant scope', () => {
  it("shows only the caller's products", async () => {
    const res = await run(ctxA, 'select pim_id from v_products order by pim_id');
    expect(res.data).toEqual({
      columns: ['pim_id'],
      rows: [['A-1'], ['A-2'], ['A-3']],
      row_count: 3,
      truncated: false,
    });
    const b = await run(ctxB, 'select pim_id from v_products order by pim_id');
    expect((b.data as { rows: string[][] }).rows.flat()).toEqual(Object.keys(bravo.productIds).sort());
  });

  it('scopes every view, including joins and aggregates across them', async () => {
    const res = await run(
      ctxA,
      `select o.order_number, o.status, count(j.id)::int as jobs,
        count(*) filter (where j.status = 'completed')::int as done
      from v_orders o join v_render_jobs j on j.order_id = o.id group by 1, 2 order by 1`,
    );
    expect((res.data as { rows: unknown[][] }).rows).toEqual([
      ['SA-2026-00001', 'completed', 3, 3],
      ['SA-2026-00002', 'rendering', 3, 0],
    ]);
    const tables = {
      v_products: 'product',
      v_materials: 'material',
      v_output_types: 'output_type',
      v_orders: 'render_order',
      v_order_items: 'order_item',
      v_render_jobs: 'render_job',
    };
    for (const [view, table] of Object.entries(tables)) {
      const own = await run(ctxB, `select count(*) as n from ${view}`);
      const expected = await row(db.orm.em.fork(), countRow, `select count(*) as n from ${table} where tenant_id = ?`, [
        bravo.tenant.id,
      ]);
      expect(expected!.n, view).toBeGreaterThan(0);
      expect((own.data as { rows: number[][] }).rows[0]![0], view).toBe(expected!.n);
    }
  });

  it('cannot be talked into another tenant, neither by settings nor by ids in the SQL', async () => {
    const err = await failure(
      run(ctxA, `select set_config('renderbot.tenant_id', '${bravo.tenant.id}', true), pim_id from v_products`),
    );
    expect(err.code).toBe('sql_rejected');
    const byId = await run(
      ctxA,
      `select count(*) as n from v_products where id = '${Object.values(bravo.productIds)[0]}'`,
    );
    expect((byId.data as { rows: number[][] }).rows).toEqual([[0]]);
  });

  it('turns hostile SQL into a ModelBehaviourError that explains the rejection', async () => {
    const cases: [string, RegExp][] = [
      ['select * from tenant', /Relation "tenant" is not available/],
      ['select 1; delete from product', /Found 2 statements/],
      ['with x as (delete from product returning *) select * from x', /data-modifying WITH/],
      ['select * from v_products for update', /Locking clauses/],
      ['select pg_sleep(5)', /sleeps/],
      [`select 'tenant'::regclass`, /Casts to regclass/],
      ['select * from pg_catalog.pg_authid', /System catalogs/],
    ];
    for (const [sql, reason] of cases) {
      const err = await failure(run(ctxA, sql));
      expect(err.code, sql).toBe('sql_rejected');
      expect(err.message, sql).toMatch(reason);
    }
    expect(await row(db.orm.em.fork(), countRow, 'select count(*) as n from product')).toEqual({ n: 258 });
  });
});

describe('query_database: results', () => {
  it('caps rows at 200 and says so; the table shows 20', async () => {
    const res = await run(ctxC, 'select pim_id, name from v_products order by pim_id');
    const data = res.data as { rows: string[][]; row_count: number; truncated: boolean };
    expect(data.row_count).toBe(200);
    expect(data.rows).toHaveLength(200);
    expect(data.rows[199]).toEqual(['C-0200', 'Charlie 200']);
    expect(data.truncated).toBe(true);
    expect(res.blocks).toEqual([
      expect.objectContaining({ type: 'table', columns: ['pim_id', 'name'], total: 200, truncated: true }),
    ]);
    const table = res.blocks![0] as { rows: string[][] };
    expect(table.rows).toHaveLength(20);
    const count = await run(ctxC, 'select count(*) as n from v_products');
    expect(count.data).toMatchObject({ rows: [[250]], truncated: false });
  });

  it('honours a smaller row cap', async () => {
    const res = await runGuardedQuery(db.queryPool, charlie.tenant.id, 'select pim_id from v_products', { rowCap: 5 });
    expect(res).toMatchObject({ rowCount: 5, truncated: true });
  });

  it('keeps repeated column names, column order, JSON values and the jsonb ? operator', async () => {
    const res = await run(
      ctxA,
      `select p.pim_id, i.pim_id, p.attributes, p.attributes->>'color' as color, 1.5 as x, null as nothing
      from v_products p join v_order_items i on i.product_id = p.id
      where p.attributes ? 'color' and i.order_number = 'SA-2026-00001'; -- trailing comment`,
    );
    expect(res.data).toEqual({
      columns: ['pim_id', 'pim_id', 'attributes', 'color', 'x', 'nothing'],
      rows: [['A-1', 'A-1', { color: 'red', size: 'L' }, 'red', 1.5, null]],
      row_count: 1,
      truncated: false,
    });
    expect((res.blocks![0] as { rows: string[][] }).rows[0]).toEqual([
      'A-1',
      'A-1',
      '{"size":"L","color":"red"}',
      'red',
      '1.5',
      '—',
    ]);
  });

  it('answers an empty result with a text block', async () => {
    const res = await run(ctxA, `select pim_id from v_products where pim_id = 'nope'`);
    expect(res.data).toEqual({ columns: [], rows: [], row_count: 0, truncated: false });
    expect(res.blocks).toEqual([{ type: 'text', text: 'The query returned no rows.' }]);
  });

  it('reports PostgreSQL errors briefly, without the wrapped SQL', async () => {
    const missing = await failure(run(ctxA, 'select nope from v_products'));
    expect(missing.code).toBe('sql_error');
    expect(missing.message).toBe(
      'PostgreSQL rejected the query: column "nope" does not exist. ' +
        'Hint: Perhaps you meant to reference the column "v_products.name".',
    );
    const zero = await failure(run(ctxA, 'select 1 / 0 as x from v_products'));
    expect(zero.message).toBe('PostgreSQL rejected the query: division by zero');
  });

  it('cancels a slow query at the statement timeout with a clear error', async () => {
    const started = Date.now();
    const err = await failure(
      runGuardedQuery(
        db.queryPool,
        charlie.tenant.id,
        'select count(*) from v_products a, v_products b, v_products c, v_products d',
        { timeoutMs: 50 },
      ),
    );
    expect(err.code).toBe('sql_timeout');
    expect(err.message).toMatch(/longer than 50 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await run(ctxC, 'select count(*) from v_products')).toMatchObject({ data: { rows: [[250]] } });
  });
});

describe('query_database: what the database enforces on its own', () => {
  it('leaves no role, tenant or timeout behind on the pooled connection', async () => {
    const pool = createQueryPool(db.url, 1);
    try {
      const probe = `select current_user as who, pg_backend_pid() as pid, coalesce(current_setting('renderbot.tenant_id', true), '') as tenant,
        current_setting('statement_timeout') as timeout, current_setting('transaction_read_only') as ro`;
      const probeRow = z.object({
        who: z.string(),
        pid: z.number(),
        tenant: z.string(),
        timeout: z.string(),
        ro: z.string(),
      });
      const before = (await pgRow(pool, probeRow, probe))!;
      await runGuardedQuery(pool, alpha.tenant.id, 'select count(*) from v_products');
      const after = (await pgRow(pool, probeRow, probe))!;
      expect(after.pid).toBe(before.pid); // the same pooled connection the runner used
      expect(after).toMatchObject({ who: before.who, tenant: '', timeout: '0', ro: 'off' });
      expect(after.who).not.toBe(QUERY_ROLE);
    } finally {
      await pool.end();
    }
  });

  it('parses strings as the guard did, even when the connection has standard_conforming_strings off', async () => {
    // With the setting off, \' would not end the first literal and the "count(*) … from tenant" would run as SQL.
    const smuggle = `select 'x\\', ' as a, count(*) as n from tenant -- ' as b`;
    const pool = createQueryPool(db.url, 1);
    try {
      const pid = (await pgRow(
        pool,
        z.object({ pid: z.number() }),
        `select pg_backend_pid() as pid, set_config('standard_conforming_strings', 'off', false)`,
      ))!;
      const res = await runGuardedQuery(pool, alpha.tenant.id, smuggle);
      expect(res).toMatchObject({
        columns: ['?column?', 'b'],
        rows: [['x\\', ' as a, count(*) as n from tenant -- ']],
      });
      const after = await pgRow(
        pool,
        z.object({ pid: z.number(), scs: z.string() }),
        `select pg_backend_pid() as pid, current_setting('standard_conforming_strings') as scs`,
      );
      expect(after).toEqual({ pid: pid.pid, scs: 'off' }); // same connection, so the runner really met the setting off
    } finally {
      await pool.end();
    }
  });

  it("runs on a connection of its own, outside the caller's transaction", async () => {
    await db.orm.em.fork().transactional(async (tx) => {
      await runGuardedQuery(db.queryPool, alpha.tenant.id, 'select 1');
      const state = await row(
        tx,
        z.object({ who: z.string(), ro: z.string() }),
        `select current_user as who, current_setting('transaction_read_only') as ro`,
      );
      expect(state).toMatchObject({ ro: 'off' });
      expect(state!.who).not.toBe(QUERY_ROLE);
    });
  });

  it('stops a query whose sorts spill more than QUERY_TEMP_FILES to disk (the test database user may set temp_file_limit)', async () => {
    const err = await failure(
      runGuardedQuery(
        db.queryPool,
        charlie.tenant.id,
        `select count(*) from (select lpad(g::text, 2000, 'x') as p from generate_series(1, 1000000) g order by p) s`,
        { timeoutMs: 30_000 },
      ),
    );
    expect(err.message).toMatch(/temporary file size exceeds "?temp_file_limit"?/); // PostgreSQL 18 quotes the name
  });

  it('gives the query role no access to base tables and no writes, even past the guard', async () => {
    const attempt = (statements: string[]) =>
      db.orm.em
        .fork()
        .transactional(async (tx) => {
          for (const sql of statements) await tx.execute(sql);
        })
        .then(
          () => 'no error',
          (e: unknown) => (e instanceof Error ? e.message : String(e)),
        );
    const asQueryRole = (sql: string) => attempt([`set local role ${QUERY_ROLE}`, sql]);
    expect(await asQueryRole('select * from tenant')).toMatch(/permission denied for table tenant/);
    expect(await asQueryRole('select * from chat_message')).toMatch(/permission denied for table chat_message/);
    expect(await asQueryRole('select * from pg_authid')).toMatch(/permission denied for table pg_authid/);
    expect(await asQueryRole('delete from v_products')).toMatch(/permission denied for view v_products/);
    expect(await asQueryRole('create table loot (x int)')).toMatch(/permission denied for schema public/);
    expect(await asQueryRole(`select set_config('renderbot.tenant_id', gen_random_uuid()::text, true)`)).toMatch(
      /permission denied for function set_config/,
    );
    // The read-only transaction stops writes on its own, even for the (owner) role that may write.
    expect(await attempt(['set transaction read only', 'delete from product'])).toMatch(
      /cannot execute DELETE in a read-only transaction/,
    );
    expect(
      await row(db.orm.em.fork(), countRow, 'select count(*) as n from product where tenant_id = ?', [alpha.tenant.id]),
    ).toEqual({ n: 3 });
  });
});
