import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countRow } from '../core/db/sql.ts';
import { rows as readRows } from './support/rows.ts';
import type { EntityManager } from '../core/db/orm.ts';
import { seedBulk } from '../bot/seed/bulk.ts';
import { checkMaterials } from '../core/pipeline/materials.ts';
import { demoCatalogue, seedDemo, type DemoSummary } from '../bot/seed/demo.ts';
import { nextOrderNumber } from '../core/pipeline/order-numbers.ts';
import { orderStatuses } from '../core/pipeline/statuses.ts';
import { searchProducts } from '../core/pipeline/products.ts';
import { getRenderStats } from '../core/pipeline/stats.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

const NOW = new Date('2026-11-25T12:00:00Z');

let db: TestDatabase;
let em: EntityManager;
let first: DemoSummary;

/** The rows `schema` parses, read on the suite's EntityManager. */
function rows<S extends z.ZodType>(schema: S, sql: string, params: unknown[] = []): Promise<z.output<S>[]> {
  return readRows(em, schema, sql, params);
}
const count = z.coerce.number();
const nameRow = z.object({ name: z.string() });

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em.fork();
  first = await seedDemo(em, { now: NOW });
});
afterAll(async () => {
  await db.drop();
});

describe('seedDemo', () => {
  it('creates the demo tenant with a realistic catalogue, materials and output types', async () => {
    expect(first).toMatchObject({ created: true, tenant: { slug: 'demo' } });
    expect(first.products).toBeGreaterThanOrEqual(200);
    const t = first.tenant.id;
    const categories = await rows(
      z.object({ category: z.string(), n: count }),
      `select category, count(*) as n from product where tenant_id = ? group by 1`,
      [t],
    );
    const byCategory = Object.fromEntries(categories.map((c) => [c.category, c.n]));
    expect(byCategory.Kugellager).toBeGreaterThanOrEqual(30);
    for (const c of ['Rollenlager', 'Dichtungen', 'Linearführungen', 'Zahnräder', 'Wellen', 'Kupplungen'])
      expect(byCategory[c]).toBeGreaterThan(0);
    const names = (await rows(nameRow, `select name from material where tenant_id = ?`, [t])).map((m) => m.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'Steel-Bare',
        'Steel-Zinc',
        'Brass-Polished',
        'NBR-Black',
        'Aluminium-Anodized',
        'POM-White',
      ]),
    );
    const outputs = (await rows(nameRow, `select name from output_type where tenant_id = ?`, [t])).map((o) => o.name);
    expect(outputs).toEqual(
      expect.arrayContaining(['WebP 1024x1024', 'PNG 2048x2048', 'JPEG 800x800', 'WebP 512x512']),
    );
    const rill = await searchProducts(em, t, { query: 'Rillenkugellager 6204-2RS', limit: 5 });
    expect(rill.products[0]).toMatchObject({
      pim_id: 'KL-6204-2RS',
      name: 'Rillenkugellager 6204-2RS',
      category: 'Kugellager',
    });
    const [problems] = await rows(
      z.object({ missing: count, unknown: count }),
      `select count(*) filter (where p.material_name is null) as missing,
              count(*) filter (where p.material_name is not null and m.id is null) as unknown
       from product p left join material m on m.tenant_id = p.tenant_id and lower(m.name) = lower(p.material_name) where p.tenant_id = ?`,
      [t],
    );
    expect(problems!.missing).toBeGreaterThan(0);
    expect(problems!.unknown).toBeGreaterThan(0);
  });

  it('is deterministic for a seed', () => {
    expect(demoCatalogue(240, 7)).toEqual(demoCatalogue(240, 7));
    expect(new Set(demoCatalogue(1000).map((p) => p.pimId)).size).toBe(1000);
  });

  it('creates orders in every status with unique SA numbers over the last ~60 days', async () => {
    const orders = await rows(
      z.object({ order_number: z.string(), status: z.string(), created_at: z.string() }),
      `select order_number, status, created_at from render_order where tenant_id = ?`,
      [first.tenant.id],
    );
    expect(orders.length).toBe(first.orders);
    expect(new Set(orders.map((o) => o.status))).toEqual(new Set(orderStatuses));
    for (const o of orders) expect(o.order_number).toMatch(/^SA-\d{4}-\d{5}$/);
    expect(new Set(orders.map((o) => o.order_number)).size).toBe(orders.length);
    const ages = orders.map((o) => (NOW.getTime() - new Date(o.created_at).getTime()) / 86_400_000);
    expect(Math.min(...ages)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ages)).toBeLessThanOrEqual(61);
    const [counter] = await rows(
      z.object({ n: z.number() }),
      `select sum(last_value)::int as n from order_counter where tenant_id = ?`,
      [first.tenant.id],
    );
    expect(counter!.n).toBe(orders.length);
  });

  it('gives every order jobs consistent with its status', async () => {
    const stats = await rows(
      z.object({
        status: z.string(),
        items: count,
        jobs: count,
        queued: count,
        running: count,
        completed: count,
        failed: count,
        failed_without_error: count,
        bad_times: count,
        completed_at: z.string().nullable(),
        last_finished: z.string().nullable(),
      }),
      `select o.status, o.completed_at,
              (select count(*) from order_item i where i.order_id = o.id) as items, count(j.id) as jobs,
              count(*) filter (where j.status = 'queued') as queued, count(*) filter (where j.status = 'running') as running,
              count(*) filter (where j.status = 'completed') as completed, count(*) filter (where j.status = 'failed') as failed,
              count(*) filter (where j.status = 'failed' and coalesce(j.error, '') = '') as failed_without_error,
              count(*) filter (where j.started_at < j.queued_at or j.finished_at < j.started_at or j.finished_at > ?::timestamptz or j.started_at > ?::timestamptz
                or (j.status in ('completed', 'failed') and (j.started_at is null or j.finished_at is null))
                or (j.status = 'running' and (j.started_at is null or j.finished_at is not null))
                or (j.status = 'queued' and (j.started_at is not null or j.finished_at is not null))) as bad_times,
              max(j.finished_at) as last_finished
       from render_order o left join render_job j on j.order_id = o.id
       where o.tenant_id = ? group by o.id`,
      [NOW.toISOString(), NOW.toISOString(), first.tenant.id],
    );
    for (const o of stats) {
      const n = (k: keyof typeof o) => Number(o[k]);
      expect(n('items')).toBeGreaterThan(0);
      expect(n('bad_times')).toBe(0);
      expect(n('failed_without_error')).toBe(0);
      switch (o.status) {
        case 'draft':
        case 'cancelled':
          expect(n('jobs')).toBe(0);
          break;
        case 'submitted':
          expect(n('queued')).toBe(n('items'));
          break;
        case 'completed':
          expect(n('completed')).toBe(n('items'));
          expect(new Date(o.completed_at!).getTime()).toBe(new Date(o.last_finished!).getTime());
          break;
        case 'failed':
          expect(n('jobs')).toBe(n('items'));
          expect(n('failed')).toBeGreaterThan(0);
          expect(n('queued') + n('running')).toBe(0);
          break;
        case 'rendering':
          expect(n('jobs')).toBe(n('items'));
          expect(n('completed')).toBeGreaterThan(0);
          expect(n('queued') + n('running')).toBeGreaterThan(0);
          break;
      }
    }
  });

  it('leaves a draft for check_materials to complain about', async () => {
    const drafts = await rows(
      z.object({ order_number: z.string() }),
      `select order_number from render_order where tenant_id = ? and status = 'draft'`,
      [first.tenant.id],
    );
    const checks = await Promise.all(drafts.map((d) => checkMaterials(em, first.tenant.id, d.order_number)));
    expect(checks.some((c) => c.counts.missing > 0 && c.counts.unknown > 0)).toBe(true);
  });

  it('is idempotent: a second run adds nothing', async () => {
    const again = await seedDemo(em, { now: new Date(NOW.getTime() + 86_400_000) });
    expect(again).toEqual({ ...first, created: false });
    const [dupes] = await rows(
      countRow,
      `select count(*) - count(distinct pim_id) as n from product where tenant_id = ?`,
      [first.tenant.id],
    );
    expect(dupes!.n).toBe(0);
  });
});

describe('seedBulk', () => {
  it('generates a consistent benchmark data set that continues the order numbers', async () => {
    const tenant = await createTenant(em, { slug: 'bulk', name: 'Bulk' });
    const before = await nextOrderNumber(em, tenant.id, NOW);
    const summary = await seedBulk(em, tenant.id, { products: 3000, jobs: 20_000, now: NOW });
    expect(summary).toMatchObject({ products: 3000, jobs: 20_000 });
    const t = tenant.id;
    const [c] = await rows(
      z.object({ products: count, jobs: count, items: count, orders: count, numbers: count, kl: count, orphan: count }),
      `select (select count(*) from product where tenant_id = ?) as products, (select count(*) from render_job where tenant_id = ?) as jobs,
              (select count(*) from order_item where tenant_id = ?) as items, (select count(*) from render_order where tenant_id = ?) as orders,
              (select count(distinct order_number) from render_order where tenant_id = ?) as numbers,
              (select count(*) from product where tenant_id = ? and category = 'Kugellager') as kl,
              (select count(*) from render_job j left join order_item i on i.id = j.order_item_id where j.tenant_id = ? and (i.id is null or i.order_id <> j.order_id or i.product_id <> j.product_id)) as orphan`,
      [t, t, t, t, t, t, t],
    );
    expect(c!.products).toBe(3000);
    expect(c!.jobs).toBe(20_000);
    expect(c!.items).toBe(summary.items);
    expect(c!.orders).toBe(summary.orders + 0);
    expect(c!.numbers).toBe(c!.orders);
    expect(c!.kl / 3000).toBeGreaterThan(0.07);
    expect(c!.kl / 3000).toBeLessThan(0.13);
    expect(c!.orphan).toBe(0);
    const next = await nextOrderNumber(em, t, NOW);
    expect(next > before).toBe(true);
    const [taken] = await rows(
      countRow,
      `select count(*) as n from render_order where tenant_id = ? and order_number >= ?`,
      [t, next],
    );
    expect(taken!.n).toBe(0);
    const stats = await getRenderStats(em, t, NOW);
    expect(stats.jobs.total).toBe(20_000);
    expect(stats.window.completed).toBeGreaterThan(0);
    expect(
      new Set(
        Object.keys(stats.orders).filter((k) => k !== 'total' && stats.orders[k as keyof typeof stats.orders] > 0),
      ),
    ).toEqual(new Set(orderStatuses));
  });
});
