import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idRow } from '../core/db/sql.ts';
import type { EntityManager } from '../core/db/orm.ts';
import { UserInputError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { upsertProducts } from '../core/pipeline/catalogue.ts';
import { nextOrderNumber } from '../core/pipeline/order-numbers.ts';
import { countProducts, searchProducts } from '../core/pipeline/products.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import type { JobStatus, OrderStatus } from '../core/pipeline/statuses.ts';
import { checkMaterialsTool } from '../core/tools/check_materials.ts';
import { getOrderStatusTool } from '../core/tools/get_order_status.ts';
import { getRenderStatsTool } from '../core/tools/get_render_stats.ts';
import { foldTally } from '../core/pipeline/tally.ts';
import { listOrdersTool } from '../core/tools/list_orders.ts';
import { searchProductsTool } from '../core/tools/search_products.ts';
import type { Tool, ToolDeps, ToolResult } from '../core/tools/tool.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, makeTurn, type TenantFixture } from './support/fixtures.ts';
import { z } from 'zod';
import { rows } from './support/rows.ts';

const NOW = new Date('2026-11-25T12:00:00Z');
const log = createLogger('silent');

let db: TestDatabase;
let em: EntityManager;
let acme: TenantFixture;
let globex: TenantFixture;
let acmeCtx: ToolDeps;
let globexCtx: ToolDeps;
const orders: Record<string, { id: string; number: string }> = {};

type JobSpec = { pim: string; status: JobStatus; seconds?: number; finished?: string; error?: string };

/** Inserts an order with items and jobs directly, numbered through order_counter. */
async function makeOrder(
  f: TenantFixture,
  key: string,
  spec: {
    status: OrderStatus;
    created: string;
    items: string[];
    jobs?: JobSpec[];
    override?: string;
  },
): Promise<void> {
  const t = f.tenant.id;
  const created = new Date(spec.created);
  const number = await nextOrderNumber(em, t, created);
  const [row] = await rows(
    em,
    idRow,
    `insert into render_order (tenant_id, order_number, status, output_type_id, material_override_id, render_overrides, created_at, submitted_at, completed_at)
     values (?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?) returning id`,
    [
      t,
      number,
      spec.status,
      f.outputTypeIds['WebP 1024x1024'],
      spec.override ? f.materialIds[spec.override] : null,
      JSON.stringify(spec.override ? { background: 'white' } : {}),
      spec.created,
      spec.status === 'draft' ? null : spec.created,
      spec.status === 'completed' ? spec.created : null,
    ],
  );
  const orderId = row!.id;
  orders[key] = { id: orderId, number };
  const itemIds: Record<string, string> = {};
  for (const pim of spec.items) {
    const [item] = await rows(
      em,
      idRow,
      `insert into order_item (tenant_id, order_id, product_id) values (?, ?, ?) returning id`,
      [t, orderId, f.productIds[pim]],
    );
    itemIds[pim] = item!.id;
  }
  for (const j of spec.jobs ?? []) {
    const finished = j.finished ? new Date(j.finished) : null;
    const started = finished
      ? new Date(finished.getTime() - (j.seconds ?? 10) * 1000)
      : j.status === 'running'
        ? created
        : null;
    await em.execute(
      `insert into render_job (tenant_id, order_id, order_item_id, product_id, status, attempts, error, queued_at, started_at, finished_at)
       values (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
      [
        t,
        orderId,
        itemIds[j.pim],
        f.productIds[j.pim],
        j.status,
        j.error ?? null,
        spec.created,
        started?.toISOString() ?? null,
        finished?.toISOString() ?? null,
      ],
    );
  }
}

/** Validates raw arguments like the agent does, then runs the tool. */
async function call<S extends z.ZodObject>(
  tool: Tool<S>,
  ctx: ToolDeps,
  raw: Record<string, unknown>,
): Promise<ToolResult> {
  return tool.run(ctx, tool.parameters.parse(raw));
}

function data<T>(r: ToolResult): T {
  return r.data as T;
}

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em.fork();
  acme = await makeTenant(em, 'acme');
  globex = await makeTenant(em, 'globex');
  await upsertProducts(em, acme.tenant.id, [
    { pimId: 'ACME-X_1', name: 'ACME Sonderring 50% Rabatt', category: 'Sonderteile', materialName: 'Steel-Bare' },
    { pimId: 'ACME-XA1', name: 'ACME Sonderring 50 Stück', category: 'Sonderteile', materialName: 'Steel-Bare' },
  ]);
  const products = await rows(
    em,
    z.object({ id: z.string(), pim_id: z.string() }),
    `select id, pim_id from product where tenant_id = ?`,
    [acme.tenant.id],
  );
  acme.productIds = Object.fromEntries(products.map((r) => [r.pim_id, r.id]));

  await makeOrder(acme, 'old', {
    status: 'completed',
    created: '2026-09-01T08:00:00Z',
    items: ['ACME-KL-6204'],
    jobs: [{ pim: 'ACME-KL-6204', status: 'completed', seconds: 500, finished: '2026-09-01T09:00:00Z' }],
  });
  await makeOrder(acme, 'done', {
    status: 'completed',
    created: '2026-11-20T08:00:00Z',
    items: ['ACME-KL-6204', 'ACME-KL-6205'],
    jobs: [
      { pim: 'ACME-KL-6204', status: 'completed', seconds: 60, finished: '2026-11-20T09:00:00Z' },
      { pim: 'ACME-KL-6205', status: 'completed', seconds: 120, finished: '2026-11-20T09:05:00Z' },
    ],
  });
  await makeOrder(acme, 'failed', {
    status: 'failed',
    created: '2026-11-23T08:00:00Z',
    items: ['ACME-KL-6204', 'ACME-KL-6206', 'ACME-DI-20'],
    jobs: [
      { pim: 'ACME-KL-6204', status: 'completed', seconds: 30, finished: '2026-11-24T10:00:00Z' },
      {
        pim: 'ACME-KL-6206',
        status: 'failed',
        finished: '2026-11-24T11:00:00Z',
        error: 'Renderer timeout after 600 s',
      },
      { pim: 'ACME-DI-20', status: 'failed', finished: '2026-11-23T09:00:00Z', error: 'Mesh missing' },
    ],
  });
  await makeOrder(acme, 'rendering', {
    status: 'rendering',
    created: '2026-11-25T09:00:00Z',
    items: ['ACME-KL-6204', 'ACME-KL-6205', 'ACME-ZR-100', 'ACME-DI-20'],
    jobs: [
      { pim: 'ACME-KL-6204', status: 'completed', seconds: 90, finished: '2026-11-25T10:00:00Z' },
      { pim: 'ACME-KL-6205', status: 'running' },
      { pim: 'ACME-ZR-100', status: 'queued' },
      { pim: 'ACME-DI-20', status: 'queued' },
    ],
  });
  await makeOrder(acme, 'draft', {
    status: 'draft',
    created: '2026-11-25T10:00:00Z',
    items: ['ACME-KL-6206', 'ACME-ZR-100', 'ACME-DI-20'],
  });
  await makeOrder(acme, 'override', {
    status: 'draft',
    created: '2026-11-25T11:00:00Z',
    items: ['ACME-KL-6206', 'ACME-ZR-100'],
    override: 'Steel-Bare',
  });

  // Globex numbers start far beyond Acme's, so they name orders Acme does not have.
  await em.execute(`insert into order_counter (tenant_id, year, last_value) values (?, 2026, 499)`, [globex.tenant.id]);
  await makeOrder(globex, 'globex', {
    status: 'failed',
    created: '2026-11-24T08:00:00Z',
    items: ['GLOBEX-KL-6204', 'GLOBEX-ZR-100'],
    jobs: [
      { pim: 'GLOBEX-KL-6204', status: 'completed', seconds: 999, finished: '2026-11-24T09:00:00Z' },
      { pim: 'GLOBEX-ZR-100', status: 'failed', finished: '2026-11-24T09:10:00Z', error: 'GLOBEX secret failure' },
    ],
  });

  acmeCtx = { turn: await makeTurn(em, acme.tenant.id, { role: 'viewer' }), em, log, now: () => NOW };
  globexCtx = { turn: await makeTurn(em, globex.tenant.id), em, log, now: () => NOW };
});
afterAll(async () => {
  await db.drop();
});

describe('search_products', () => {
  type Data = {
    total: number;
    returned: number;
    truncated: boolean;
    products: { id: string; pim_id: string; name: string; category: string; material: string | null }[];
  };

  it("finds only the caller's products, case-insensitive on name, PIM id and category, with totals", async () => {
    for (const query of ['rillenkugellager', 'RILLENKUGELLAGER', 'RillenKugelLager 620']) {
      const d = data<Data>(await call(searchProductsTool, acmeCtx, { query }));
      expect(d.total).toBe(3);
      expect(d.products.map((p) => p.pim_id)).toEqual(['ACME-KL-6204', 'ACME-KL-6205', 'ACME-KL-6206']);
    }
    expect(
      data<Data>(await call(searchProductsTool, acmeCtx, { query: 'acme-kl-6205' })).products.map((p) => p.pim_id),
    ).toEqual(['ACME-KL-6205']);
    expect(
      data<Data>(await call(searchProductsTool, acmeCtx, { query: 'DICHTUNGEN' })).products.map((p) => p.pim_id),
    ).toEqual(['ACME-DI-20']);
    expect(data<Data>(await call(searchProductsTool, acmeCtx, { query: '6206 2rs' })).total).toBe(1);
    expect(
      data<Data>(await call(searchProductsTool, globexCtx, { query: 'rillenkugellager' })).products.every((p) =>
        p.pim_id.startsWith('GLOBEX-'),
      ),
    ).toBe(true);
  });

  it('filters by exact category, case-insensitive, alone or with text', async () => {
    const d = data<Data>(await call(searchProductsTool, acmeCtx, { category: 'KUGELLAGER' }));
    expect(d.total).toBe(3);
    expect(d.products.every((p) => p.category === 'Kugellager')).toBe(true);
    expect(data<Data>(await call(searchProductsTool, acmeCtx, { category: 'kugellager', query: '6205' })).total).toBe(
      1,
    );
    await expect(call(searchProductsTool, acmeCtx, { category: 'Kugel' })).rejects.toMatchObject({
      code: 'category_not_found',
    });
  });

  it('reports an empty result as total 0, but an unknown category as a user error naming it', async () => {
    const none = await call(searchProductsTool, acmeCtx, { query: 'globex' });
    expect(data<Data>(none)).toMatchObject({ total: 0, returned: 0, products: [] });
    expect(none.blocks?.[0]).toMatchObject({ type: 'text' });
    await expect(call(searchProductsTool, acmeCtx, { category: 'Schrauben' })).rejects.toThrow(UserInputError);
    await expect(call(searchProductsTool, acmeCtx, { category: 'Schrauben' })).rejects.toThrow(/Schrauben.*Kugellager/);
  });

  it('treats LIKE wildcards in user text literally', async () => {
    expect(data<Data>(await call(searchProductsTool, acmeCtx, { query: '50%' })).products.map((p) => p.pim_id)).toEqual(
      ['ACME-X_1'],
    );
    expect(data<Data>(await call(searchProductsTool, acmeCtx, { query: 'x_1' })).products.map((p) => p.pim_id)).toEqual(
      ['ACME-X_1'],
    );
    expect(data<Data>(await call(searchProductsTool, acmeCtx, { query: '%' })).total).toBe(1);
    expect(data<Data>(await call(searchProductsTool, acmeCtx, { query: '_' })).total).toBe(1);
    expect(data<Data>(await call(searchProductsTool, acmeCtx, { query: '\\' })).total).toBe(0);
  });

  it('limits the page and says how many more there are, with ids for create_order and no tenant id', async () => {
    const r = await call(searchProductsTool, acmeCtx, { query: 'acme', limit: 2 });
    const d = data<Data>(r);
    expect(d).toMatchObject({ total: 7, returned: 2, truncated: true });
    expect(d.products[0]).toEqual({
      id: acme.productIds['ACME-KL-6204'],
      pim_id: 'ACME-KL-6204',
      name: 'ACME Rillenkugellager 6204',
      category: 'Kugellager',
      material: 'Steel-Bare',
    });
    expect(r.blocks?.[0]).toMatchObject({ type: 'table', total: 7, truncated: true });
    expect(JSON.stringify(r)).not.toContain(acme.tenant.id);
    expect(() => searchProductsTool.parameters.parse({ limit: 201 })).toThrow();
    expect(searchProductsTool.parameters.parse({}).limit).toBe(25);
  });
});

describe('searchProducts on a large catalogue', () => {
  let big: string;
  beforeAll(async () => {
    big = (await createTenant(em, { slug: 'initech', name: 'Initech' })).id;
    const axial = Array.from({ length: 5500 }, (_, i) => ({
      pimId: `AX-${i}`,
      name: `Axiallager ${String(i).padStart(4, '0')}`,
      category: 'Rollenlager',
    }));
    const gears = Array.from({ length: 1500 }, (_, i) => ({
      pimId: `ZR-${i}`,
      name: `Zahnrad Modul 2 Z=${String(i).padStart(4, '0')}`,
      category: 'Zahnräder',
    }));
    await upsertProducts(em, big, [...gears, ...axial]);
  });

  async function firstByName(filter: string, limit: number, offset = 0): Promise<string[]> {
    const r = await rows(
      em,
      z.object({ pim_id: z.string() }),
      `select pim_id from product where tenant_id = ? and ${filter} order by name, pim_id limit ? offset ?`,
      [big, limit, offset],
    );
    return r.map((x) => x.pim_id);
  }

  /** Every page of a search, following next_cursor. */
  async function walk(search: { query?: string; category?: string }, limit: number) {
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await searchProducts(em, big, { ...search, limit, ...(cursor ? { cursor } : {}) });
      pages.push(page);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return pages;
  }

  it('counts exactly and pages through every match in name order, for broad and narrow text queries and whole categories', async () => {
    // 5,500 matches: the name index is walked; 1,500: matches are collected and sorted; a category: its index.
    for (const [search, filter, limit] of [
      [{ query: 'axiallager' }, `search_text like '%axiallager%'`, 1000],
      [{ query: 'zahnrad' }, `search_text like '%zahnrad%'`, 200],
      [{ category: 'ROLLENLAGER' }, `category = 'Rollenlager'`, 700],
    ] as const) {
      const pages = await walk(search, limit);
      const expected = await firstByName(filter, 100_000);
      expect(pages.every((p) => p.total === expected.length && p.total_exact)).toBe(true);
      expect(pages.flatMap((p) => p.products.map((x) => x.pim_id))).toEqual(expected);
      expect(pages.length).toBe(Math.ceil(expected.length / limit));
      expect(pages.at(-1)!.next_cursor).toBeNull();
    }
    expect(await searchProducts(em, big, { query: 'z=0999', limit: 5 })).toMatchObject({
      total: 1,
      total_exact: true,
      next_cursor: null,
    });
    expect(await countProducts(em, big, {}, 1000)).toBe(1001);
  });

  it('refuses a cursor of another search or a made-up one', async () => {
    const first = await searchProducts(em, big, { query: 'zahnrad', limit: 10 });
    await expect(
      searchProducts(em, big, { query: 'axiallager', limit: 10, cursor: first.next_cursor! }),
    ).rejects.toMatchObject({ code: 'invalid_cursor' });
    await expect(
      searchProducts(em, big, { query: 'zahnrad', limit: 10, cursor: 'bm90IGEgY3Vyc29y' }),
    ).rejects.toMatchObject({ code: 'invalid_cursor' });
  });

  it('gives the model next_cursor before the products, and the table says which page it is', async () => {
    const ctx: ToolDeps = { turn: await makeTurn(em, big), em, log, now: () => NOW };
    const r = await call(searchProductsTool, ctx, { category: 'zahnräder' });
    expect(r.data).toMatchObject({
      total: 1500,
      total_exact: true,
      returned: 25,
      truncated: true,
      next_cursor: expect.any(String),
    });
    expect(Object.keys(r.data as object).indexOf('next_cursor')).toBeLessThan(
      Object.keys(r.data as object).indexOf('products'),
    );
    expect(r.blocks?.[0]).toMatchObject({
      type: 'table',
      title: '1,500 products in category zahnräder',
      truncated: true,
    });
    const next = await call(searchProductsTool, ctx, {
      category: 'zahnräder',
      cursor: (r.data as { next_cursor: string }).next_cursor,
    });
    expect(next.blocks?.[0]).toMatchObject({ title: '1,500 products in category zahnräder (next page)' });
  });
});

describe('list_orders', () => {
  type Data = {
    total: number;
    returned: number;
    orders: { order_number: string; status: string; items: number; jobs: Record<JobStatus, number> }[];
  };

  it("lists the caller's orders newest first with item and job counts", async () => {
    const r = await call(listOrdersTool, acmeCtx, {});
    const d = data<Data>(r);
    expect(d.total).toBe(6);
    expect(d.orders.map((o) => o.order_number)).toEqual(
      ['override', 'draft', 'rendering', 'failed', 'done', 'old'].map((k) => orders[k]!.number),
    );
    expect(d.orders[2]).toMatchObject({
      status: 'rendering',
      items: 4,
      jobs: { queued: 2, running: 1, completed: 1, failed: 0 },
    });
    expect(JSON.stringify(r)).not.toContain(orders.globex!.number);
    expect(JSON.stringify(r)).not.toContain(acme.tenant.id);
  });

  it('filters by status and honours the limit', async () => {
    const drafts = data<Data>(await call(listOrdersTool, acmeCtx, { status: 'draft' }));
    expect(drafts.orders.map((o) => o.status)).toEqual(['draft', 'draft']);
    const one = await call(listOrdersTool, acmeCtx, { limit: 1 });
    expect(data<Data>(one)).toMatchObject({ total: 6, returned: 1 });
    expect(one.blocks?.[0]).toMatchObject({ type: 'table', total: 6, truncated: true });
    expect(data<Data>(await call(listOrdersTool, acmeCtx, { status: 'cancelled' })).total).toBe(0);
    expect(() => listOrdersTool.parameters.parse({ status: 'done' })).toThrow();
    expect(() => listOrdersTool.parameters.parse({ limit: 51 })).toThrow();
  });
});

describe('get_order_status', () => {
  it('reports job counts, progress and timestamps by order number (any case) or id', async () => {
    for (const ref of [orders.rendering!.number, orders.rendering!.number.toLowerCase(), orders.rendering!.id]) {
      const r = await call(getOrderStatusTool, acmeCtx, { order_id: ref });
      expect(r.data).toMatchObject({
        order_number: orders.rendering!.number,
        status: 'rendering',
        item_count: 4,
        total_jobs: 4,
        progress: 0.25,
        jobs: { queued: 2, running: 1, completed: 1, failed: 0 },
        first_started_at: '2026-11-25T09:00:00Z',
        last_finished_at: '2026-11-25T10:00:00Z',
      });
      expect(r.blocks?.map((b) => b.type)).toEqual(['facts', 'progress']);
      expect(r.blocks?.[1]).toMatchObject({
        type: 'progress',
        total: 4,
        ratio: 0.25,
        counts: { queued: 2, running: 1, completed: 1, failed: 0 },
      });
    }
  });

  it('lists the latest failures newest first', async () => {
    const r = await call(getOrderStatusTool, acmeCtx, { order_id: orders.failed!.number });
    expect(r.data).toMatchObject({ progress: 1, jobs: { completed: 1, failed: 2 } });
    expect((r.data as { failures: { pim_id: string; error: string }[] }).failures).toEqual([
      expect.objectContaining({
        pim_id: 'ACME-KL-6206',
        error: 'Renderer timeout after 600 s',
        finished_at: '2026-11-24T11:00:00Z',
      }),
      expect.objectContaining({ pim_id: 'ACME-DI-20', error: 'Mesh missing' }),
    ]);
    expect(r.blocks?.[2]).toMatchObject({ type: 'table', total: 2, truncated: false });
  });

  it('shows overrides and reports a draft without jobs as 0 progress', async () => {
    const r = await call(getOrderStatusTool, acmeCtx, { order_id: orders.override!.number });
    expect(r.data).toMatchObject({
      material_override: 'Steel-Bare',
      render_overrides: { background: 'white' },
      total_jobs: 0,
      progress: 0,
      item_count: 2,
    });
  });

  it("treats another tenant's order number or id as not found, naming it", async () => {
    for (const ref of [orders.globex!.number, orders.globex!.id, 'SA-2026-09999']) {
      await expect(call(getOrderStatusTool, acmeCtx, { order_id: ref })).rejects.toThrow(UserInputError);
      await expect(call(getOrderStatusTool, acmeCtx, { order_id: ref })).rejects.toThrow(ref);
    }
    await expect(call(getOrderStatusTool, acmeCtx, { order_id: 'banana' })).rejects.toMatchObject({
      code: 'order_not_found',
    });
  });
});

describe('get_render_stats', () => {
  type Data = {
    orders: Record<string, number>;
    jobs: Record<string, number | boolean>;
    last_30_days: {
      from: string;
      to: string;
      completed: number;
      failed: number;
      failure_rate: number;
      avg_render_seconds: number;
      completed_per_day: Record<string, number>;
    };
  };

  it("counts the caller's orders and jobs and the last 30 days exactly", async () => {
    const r = await call(getRenderStatsTool, acmeCtx, {});
    const d = data<Data>(r);
    expect(d.orders).toEqual({ draft: 2, submitted: 0, rendering: 1, completed: 2, failed: 1, cancelled: 0, total: 6 });
    expect(d.jobs).toEqual({ queued: 2, running: 1, completed: 5, failed: 2, total: 10, exact: true });
    expect(d.last_30_days).toMatchObject({
      from: '2026-10-27',
      to: '2026-11-25',
      completed: 4,
      failed: 2,
      failure_rate: 0.3333,
      avg_render_seconds: 75,
    });
    const perDay = d.last_30_days.completed_per_day;
    expect(Object.keys(perDay)).toHaveLength(30);
    expect(Object.entries(perDay).filter(([, n]) => n > 0)).toEqual([
      ['2026-11-20', 2],
      ['2026-11-24', 1],
      ['2026-11-25', 1],
    ]);
    expect(r.blocks?.map((b) => b.type)).toEqual(['facts', 'table', 'table']);
    expect(JSON.stringify(r)).not.toContain(acme.tenant.id);
  });

  it("sees only the caller's tenant", async () => {
    const d = data<Data>(await call(getRenderStatsTool, globexCtx, {}));
    expect(d.orders.total).toBe(1);
    expect(d.jobs).toMatchObject({ completed: 1, failed: 1, total: 2 });
    expect(d.last_30_days).toMatchObject({ completed: 1, failed: 1, failure_rate: 0.5, avg_render_seconds: 999 });
  });
});

describe('check_materials', () => {
  type Data = {
    ok: boolean;
    counts: Record<string, number>;
    problems: { pim_id: string; problem: string; material: string | null }[];
    known_materials: string[];
  };

  it('finds products without a material and with an unknown one', async () => {
    const r = await call(checkMaterialsTool, acmeCtx, { order_id: orders.draft!.number });
    const d = data<Data>(r);
    expect(d.ok).toBe(false);
    expect(d.counts).toEqual({ products: 3, ok: 1, missing: 1, unknown: 1 });
    expect(d.problems).toEqual([
      {
        pim_id: 'ACME-KL-6206',
        name: 'ACME Rillenkugellager 6206 2RS',
        problem: 'unknown_material',
        material: 'Unobtainium',
      },
      { pim_id: 'ACME-ZR-100', name: 'ACME Zylinderrollenlager NU 206', problem: 'missing_material', material: null },
    ]);
    expect(d.known_materials).toEqual(['NBR-Black', 'Steel-Bare']);
    expect(r.blocks?.[1]).toMatchObject({ type: 'table', total: 2, truncated: false });
  });

  it("honours the order's material override", async () => {
    const d = data<Data & { material_override: string; materials: unknown }>(
      await call(checkMaterialsTool, acmeCtx, { order_id: orders.override!.id }),
    );
    expect(d).toMatchObject({
      ok: true,
      material_override: 'Steel-Bare',
      counts: { products: 2, ok: 2, missing: 0, unknown: 0 },
      problems: [],
    });
    expect(d.materials).toEqual([{ material: 'Steel-Bare', known: true, products: 2 }]);
  });

  it("treats another tenant's order as not found", async () => {
    await expect(call(checkMaterialsTool, acmeCtx, { order_id: orders.globex!.number })).rejects.toThrow(
      UserInputError,
    );
    await expect(call(checkMaterialsTool, globexCtx, { order_id: orders.draft!.id })).rejects.toThrow(orders.draft!.id);
  });
});

describe('render job tally', () => {
  const statusCount = z.object({ status: z.string(), n: z.number() });
  /** The same numbers counted from the jobs themselves. */
  const counted = async (tenantId: string) => {
    const byStatus = await rows(
      db.orm.em.fork(),
      statusCount,
      `select status, count(*)::int as n from render_job where tenant_id = ? group by status order by status`,
      [tenantId],
    );
    const tallied = await rows(
      db.orm.em.fork(),
      statusCount,
      `select status, sum(jobs)::int as n from render_job_tally where tenant_id = ? group by status having sum(jobs) <> 0 order by status`,
      [tenantId],
    );
    return { byStatus, tallied };
  };

  it('stays exact through inserts, status changes, retries, deletes and folding, whoever writes the jobs', async () => {
    const em = db.orm.em.fork();
    const before = await counted(acme.tenant.id);
    expect(before.tallied).toEqual(before.byStatus);
    // A retried job goes back to queued, one runs and completes, one fails, then an order's jobs go.
    await em.execute(
      `update render_job set status = 'queued', started_at = null, finished_at = null, attempts = attempts + 1 where id = (select id from render_job where tenant_id = ? and status = 'failed' limit 1)`,
      [acme.tenant.id],
    );
    await em.execute(
      `update render_job set status = 'completed', started_at = now() - interval '30 seconds', finished_at = now() where id = (select id from render_job where tenant_id = ? and status = 'queued' limit 1)`,
      [acme.tenant.id],
    );
    await em.execute(`update render_job set attempts = attempts + 1 where tenant_id = ?`, [acme.tenant.id]);
    const after = await counted(acme.tenant.id);
    expect(after.tallied).toEqual(after.byStatus);
    expect(await foldTally(em)).toBeGreaterThan(0);
    expect((await counted(acme.tenant.id)).tallied).toEqual(after.byStatus);
    const d = data<{ jobs: Record<string, number | boolean> }>(await call(getRenderStatsTool, acmeCtx, {}));
    const direct = Object.fromEntries(after.byStatus.map((r) => [r.status, r.n]));
    expect(d.jobs).toMatchObject(direct);
    // Deleting an order's jobs (cascade) counts too.
    const [order] = await rows(
      em,
      z.object({ order_id: z.string() }),
      `select order_id from render_job where tenant_id = ? limit 1`,
      [acme.tenant.id],
    );
    await em.execute(`delete from render_job where order_id = ?`, [order!.order_id]);
    const gone = await counted(acme.tenant.id);
    expect(gone.tallied).toEqual(gone.byStatus);
  });
});
