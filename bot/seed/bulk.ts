import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { retallyTenant } from '../../core/pipeline/tally.ts';
import { countRow, row } from '../../core/db/sql.ts';
import type { EntityManager } from '../../core/db/orm.ts';
import { UserInputError } from '../../core/errors.ts';
import { ensureMaterial, ensureOutputType } from '../../core/pipeline/catalogue.ts';
import { demoMaterials, demoOutputTypes } from './demo.ts';

/** Size and time span of a benchmark data set. */
export type BulkOptions = { products?: number; jobs?: number; days?: number; now?: Date };

/** What `seedBulk` wrote and how long it took. */
export type BulkSummary = { products: number; orders: number; items: number; jobs: number; ms: number };

/**
 * Category mix per mille: a few large categories (Dichtungen, Normteile), Kugellager ~10 %.
 * Columns: lower bound, upper bound, category, PIM prefix, name stem, base number, spread, material.
 */
const categoryMix = `(values
  (0, 100, 'Kugellager', 'KL', 'Rillenkugellager ', 6000, 400, 'Steel-Bare'),
  (100, 400, 'Dichtungen', 'DI', 'Radial-Wellendichtring BA Ø', 10, 190, 'NBR-Black'),
  (400, 550, 'Zahnräder', 'ZR', 'Stirnrad Modul 2 Z=', 12, 120, 'Steel-Bare'),
  (550, 700, 'Normteile', 'NT', 'Zylinderschraube ISO 4762 M8x', 10, 90, 'Steel-Zinc'),
  (700, 780, 'Rollenlager', 'RL', 'Kegelrollenlager 3', 200, 800, 'Steel-Bare'),
  (780, 850, 'Linearführungen', 'LF', 'Führungsschiene TSX L=', 100, 3000, 'Aluminium-Anodized'),
  (850, 920, 'Wellen', 'WE', 'Präzisionswelle h6 Ø', 6, 60, 'Stainless-Brushed'),
  (920, 1000, 'Kupplungen', 'KU', 'Klauenkupplung ROTEX ', 14, 80, 'POM-White')
) as c(lo, hi, category, prefix, stem, base, spread, material)`;

/** A deterministic pseudo-random integer in [0, mod) from an integer expression. */
const hash = (expr: string, mod: number | string) => `((((${expr})::bigint * 2654435761) % 4294967296) % ${mod})`;

/**
 * A UUID-shaped id: a random per-run prefix (keeping the v4 version and variant bits) and a
 * 48-bit sequence number, so millions of rows append to the primary-key index instead of
 * scattering over it, and no per-row random bytes are drawn.
 */
const seqId = (prefix: string, expr: string) => `('${prefix}' || lpad(to_hex(${expr}), 12, '0'))::uuid`;

/**
 * Generates a benchmark data set for `tenantId` set-based in SQL, in one transaction:
 * `products` products over eight categories, and orders of 20–180 items over the last `days`
 * days whose render jobs add up to `jobs` (completed ~94 %, failed orders with ~20 % failed jobs,
 * the newest orders rendering or submitted), plus ~1 % drafts and cancelled orders without jobs.
 * Order numbers continue the tenant's order_counter per year. As a superuser it skips the
 * foreign-key triggers for the bulk inserts (the generated rows are consistent by construction).
 */
export async function seedBulk(em: EntityManager, tenantId: string, opts: BulkOptions = {}): Promise<BulkSummary> {
  const started = Date.now();
  const productCount = opts.products ?? 200_000;
  const jobCount = opts.jobs ?? 2_000_000;
  const days = opts.days ?? 365;
  const now = (opts.now ?? new Date()).toISOString();
  const [pP, pO, pI, pJ] = Array.from({ length: 4 }, () => randomUUID().slice(0, 24));
  return em.transactional(async (tx) => {
    const run = (sql: string, params: unknown[] = []) => tx.execute(sql, params);
    for (const [name, description] of Object.entries(demoMaterials))
      await ensureMaterial(tx, tenantId, name, description);
    const outputTypeIds: string[] = [];
    for (const o of demoOutputTypes) outputTypeIds.push(await ensureOutputType(tx, tenantId, o));
    await run(`select setseed(0.42)`);
    await run(`set local work_mem = '256MB'`);
    const su = await row(
      tx,
      z.object({ rolsuper: z.boolean() }),
      `select rolsuper from pg_roles where rolname = current_user`,
    );
    if (su?.rolsuper) await run(`set local session_replication_role = replica`);

    await run(
      `insert into product (id, tenant_id, pim_id, name, category, material_name, attributes)
       select ${seqId(pP!, 'g')}, ?, c.prefix || '-' || x.num || '-' || lpad(g::text, 7, '0'), c.stem || x.num, c.category,
              case when g % 53 = 0 then null when g % 89 = 0 then 'Steel-Chrome' else c.material end, '{}'::jsonb
       from generate_series(1, ?) g join ${categoryMix} on ${hash('g', 1000)} >= c.lo and ${hash('g', 1000)} < c.hi
       cross join lateral (select (c.base + ${hash('g', 1_000_003)} % c.spread)::text as num) x
       on conflict (tenant_id, pim_id) do nothing`,
      [tenantId, productCount],
    );
    await run(
      `create temp table bulk_products on commit drop as
      select row_number() over (order by id) as rn, id from product where tenant_id = ?`,
      [tenantId],
    );
    const nprod = (await row(tx, countRow, `select count(*) as n from bulk_products`))?.n ?? 0;
    if (nprod < 180)
      throw new UserInputError('bulk_too_small', 'seedBulk needs at least 180 products (the largest order size).');

    // Orders with jobs (kind 'r', oldest first by n) and ~1 % drafts/cancelled without jobs (kind 'd').
    const estimated = Math.ceil(jobCount / 100) + 10;
    await run(
      `create temp table bulk_orders on commit drop as
       with s as (select n, 20 + ${hash('n', 161)} as size from generate_series(1, ?) n),
            c as (select n, size, sum(size) over (order by n) - size as start from s),
            r as (select n, least(size, ? - start)::int as size, row_number() over (order by n) as i, count(*) over () as total from c where start < ?),
            base as (
              select n, size, 'r' as kind, ?::timestamptz - make_interval(secs => (total - i + 1) * ? * 86400.0 / total + ${hash('n', 600)}) as created_at,
                     case when total - i < 5 then 'submitted' when total - i < 25 then 'rendering' when n % 20 = 7 then 'failed' else 'completed' end as status
              from r
              union all
              select 1000000 + n, 5 + ${hash('n', 16)}, 'd', ?::timestamptz - make_interval(secs => ${hash('n', 86400)} * ? / 3.0),
                     case when n % 3 = 0 then 'cancelled' else 'draft' end
              from generate_series(1, ?) n),
            dated as (select *, extract(year from created_at at time zone 'UTC')::int as year from base)
       select b.n, b.size, b.kind, b.status, b.created_at,
              ${seqId(pO!, 'row_number() over (order by b.created_at, b.n)')} as id,
              case when b.kind = 'r' then b.created_at + make_interval(secs => 60 + ${hash('b.n', 1200)}) end as submitted_at,
              (?::jsonb ->> (${hash('b.n + 3', 10)} % 4)::int)::uuid as output_type_id,
              'SA-' || b.year || '-' || lpad((coalesce(oc.last_value, 0) + row_number() over (partition by b.year order by b.created_at, b.n))::text, 5, '0') as order_number
       from dated b left join order_counter oc on oc.tenant_id = ? and oc.year = b.year
       order by b.n`,
      [
        estimated,
        jobCount,
        jobCount,
        now,
        days,
        now,
        days,
        Math.max(3, Math.floor(estimated / 100)),
        JSON.stringify(outputTypeIds),
        tenantId,
      ],
    );
    await run(`analyze bulk_products, bulk_orders`);
    const over = await row(tx, countRow, `select count(*) as n from bulk_orders where length(order_number) > 14`);
    if ((over?.n ?? 0) > 0)
      throw new UserInputError('bulk_too_large', 'More than 99,999 orders in one year; raise `days` or lower `jobs`.');
    await run(
      `insert into order_counter (tenant_id, year, last_value)
       select ?, substr(order_number, 4, 4)::int, max(substr(order_number, 9)::int) from bulk_orders group by 2
       on conflict (tenant_id, year) do update set last_value = greatest(order_counter.last_value, excluded.last_value)`,
      [tenantId],
    );
    // completed_at: an upper bound of the jobs' finish times (start offset + last slot + longest render).
    await run(
      `insert into render_order (id, tenant_id, order_number, status, output_type_id, render_overrides, created_by, origin,
         created_at, updated_at, submitted_at, completed_at)
       select id, ?, order_number, status, output_type_id, '{}'::jsonb, 'bulk', '{"source":"bulk-seed"}'::jsonb, created_at,
         coalesce(submitted_at, created_at), submitted_at,
         case when status = 'completed' then submitted_at + make_interval(secs => 65 + size * 30 + 240) end
       from bulk_orders order by id`,
      [tenantId],
    );

    // Items are generated once into a temp table (no WAL) and read by both inserts.
    await run(`create temp table bulk_items on commit drop as
      select ${seqId(pI!, 'o.n * 1000 + k')} as id, o.id as order_id, p.id as product_id, o.kind, o.status, o.submitted_at, o.order_number, k
      from bulk_orders o cross join lateral generate_series(0, o.size - 1) k
      join bulk_products p on p.rn = 1 + (${hash('o.n', nprod)} + k) % ${nprod}`);
    await run(
      `insert into order_item (id, tenant_id, order_id, product_id) select id, ?, order_id, product_id from bulk_items`,
      [tenantId],
    );
    await run(
      `insert into render_job (id, tenant_id, order_id, order_item_id, product_id, status, attempts, error, result_url, queued_at, started_at, finished_at)
       select ${seqId(pJ!, 'row_number() over ()')}, ?, i.order_id, i.id, i.product_id, j.status,
         case j.status when 'queued' then 0 when 'failed' then 3 else 1 end,
         case when j.status = 'failed' then 'Renderer timeout after 600 s' end,
         case when j.status = 'completed' then 'https://renders.example.com/bulk/' || i.order_number || '/' || i.k || '.webp' end,
         i.submitted_at,
         case when j.status <> 'queued' then i.submitted_at + make_interval(secs => j.start) end,
         case when j.status in ('completed', 'failed') then i.submitted_at + make_interval(secs => j.start + 20 + random() * 220) end
       from bulk_items i
       cross join lateral (select 5 + i.k * 30 + random() * 60 as start, case
           when i.status = 'submitted' then 'queued'
           when i.status = 'rendering' then case when i.k < 40 then 'completed' when i.k < 42 then 'running' else 'queued' end
           when i.status = 'failed' and random() < 0.2 then 'failed'
           else 'completed' end as status) j
       where i.kind = 'r'`,
      [tenantId],
    );
    // With triggers off (replica mode) the jobs were not tallied as they were written.
    if (su?.rolsuper) await retallyTenant(tx, tenantId);
    await run(`analyze product, render_order, order_item, render_job`);
    const totals = await row(
      tx,
      z.object({ orders: z.coerce.number(), items: z.coerce.number(), jobs: z.coerce.number() }),
      `select count(*) as orders, coalesce(sum(size), 0) as items, coalesce(sum(size) filter (where kind = 'r'), 0) as jobs from bulk_orders`,
    );
    return {
      products: nprod,
      orders: totals?.orders ?? 0,
      items: totals?.items ?? 0,
      jobs: totals?.jobs ?? 0,
      ms: Date.now() - started,
    };
  });
}

/** What `seedCategoryProducts` writes: `count` products of one category, PIM ids `<prefix>-0000001`…, names `<stem><n>`. */
export type CategorySeed = { category: string; count: number; prefix: string; stem?: string; material?: string | null };

/**
 * Adds `count` products of one category to `tenantId` in one set-based statement (60,000 in well
 * under a second), for tests and benchmarks of large selections. Existing PIM ids are kept.
 * Returns how many were inserted.
 */
export async function seedCategoryProducts(em: EntityManager, tenantId: string, seed: CategorySeed): Promise<number> {
  const inserted = await row(
    em,
    countRow,
    `with ins as (
       insert into product (tenant_id, pim_id, name, category, material_name)
       select ?, ? || '-' || lpad(g::text, 7, '0'), ? || lpad(g::text, 7, '0'), ?, ?
       from generate_series(1, ?) g
       on conflict (tenant_id, pim_id) do nothing returning 1)
     select count(*) as n from ins`,
    [
      tenantId,
      seed.prefix,
      seed.stem ?? `${seed.category} `,
      seed.category,
      seed.material === undefined ? 'Steel-Bare' : seed.material,
      seed.count,
    ],
  );
  return inserted?.n ?? 0;
}
