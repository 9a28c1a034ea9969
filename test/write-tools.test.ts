import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../core/logger.ts';
import type { TurnScope } from '../core/turn-scope.ts';
import type { EntityManager } from '../core/db/orm.ts';
import { RenderBotError, UserInputError } from '../core/errors.ts';
import { upsertProducts } from '../core/pipeline/catalogue.ts';
import { createOrder, setRenderOverrides } from '../core/pipeline/orders.ts';
import { describeOverrides, renderOverridesSchema } from '../core/pipeline/overrides.ts';
import { createOrderTool } from '../core/tools/create_order.ts';
import { dispatchRendersTool } from '../core/tools/dispatch_renders.ts';
import { setMaterialOverrideTool } from '../core/tools/set_material_override.ts';
import { setRenderOverridesTool } from '../core/tools/set_render_overrides.ts';
import type { Tool, ToolDeps, ToolResult, WriteTool } from '../core/tools/tool.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, makeTurn, type TenantFixture } from './support/fixtures.ts';
import { countOf, rows } from './support/rows.ts';

let db: TestDatabase;
let acme: TenantFixture;
let globex: TenantFixture;
let acmeTurn: TurnScope;
let globexTurn: TurnScope;
const now = new Date('2026-11-26T10:00:00Z');
const log = createLogger('silent');

beforeAll(async () => {
  db = await createTestDatabase();
  await db.orm.em.fork().transactional(async (em) => {
    acme = await makeTenant(em, 'acme');
    globex = await makeTenant(em, 'globex');
    acmeTurn = await makeTurn(em, acme.tenant.id);
    globexTurn = await makeTurn(em, globex.tenant.id);
  });
});
afterAll(async () => {
  await db?.drop();
});

function asWrite<S extends z.ZodObject>(tool: Tool<S>): WriteTool<S> {
  if (tool.kind !== 'write') throw new Error(`${tool.name} is not a write tool`);
  return tool;
}
function ctxFor(turn: TurnScope, em: EntityManager): ToolDeps {
  return { turn, em, log, now: () => now };
}
/** Like the confirmation module: validate raw args with the tool's schema, then prepare. */
async function prepare<S extends z.ZodObject>(tool: Tool<S>, turn: TurnScope, raw: unknown) {
  const t = asWrite(tool);
  return t.prepare(ctxFor(turn, db.orm.em.fork()), t.parameters.parse(raw));
}
/** Like the confirmation module: run inside one transaction. */
async function run<S extends z.ZodObject>(tool: Tool<S>, turn: TurnScope, raw: unknown): Promise<ToolResult> {
  const t = asWrite(tool);
  const args = t.parameters.parse(raw);
  return db.orm.em.fork().transactional(async (em) => t.run(ctxFor(turn, em), args));
}
async function sql(text: string, params: unknown[] = []): Promise<void> {
  await db.orm.em.fork().execute(text, params);
}
/** How many render jobs `orderId` has (in `status`, when given). */
const jobCount = (orderId: unknown, status?: string) =>
  countOf(
    db.orm.em.fork(),
    `select count(*)::int as n from render_job where order_id = ?${status ? ' and status = ?' : ''}`,
    status ? [orderId, status] : [orderId],
  );
async function rowCounts(tenantId: string) {
  const [r] = await rows(
    db.orm.em.fork(),
    z.object({ orders: z.string(), items: z.string(), jobs: z.string(), counters: z.string() }),
    `select (select count(*) from render_order where tenant_id = ?) as orders,
            (select count(*) from order_item where tenant_id = ?) as items,
            (select count(*) from render_job where tenant_id = ?) as jobs,
            (select coalesce(sum(last_value), 0) from order_counter where tenant_id = ?) as counters`,
    [tenantId, tenantId, tenantId, tenantId],
  );
  return r;
}
async function orderRow(id: string) {
  const [r] = await rows(
    db.orm.em.fork(),
    z.object({
      status: z.string(),
      submitted_at: z.string().nullable(),
      material_override_id: z.string().nullable(),
      render_overrides: z.record(z.string(), z.unknown()),
      tenant_id: z.string(),
    }),
    `select status, submitted_at, material_override_id, render_overrides, tenant_id from render_order where id = ?`,
    [id],
  );
  return r!;
}
async function expectUserError(p: Promise<unknown>, code: string, ...fragments: (string | RegExp)[]): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserInputError);
  expect((err as RenderBotError).code).toBe(code);
  const message = (err as Error).message;
  for (const f of fragments) expect(message).toMatch(f);
  return message;
}
const data = (r: ToolResult) => r.data as Record<string, unknown>;
const acmePims = () => ['ACME-KL-6204', 'ACME-KL-6205', 'ACME-ZR-100'];

describe('create_order', () => {
  it('creates and submits: one item and one queued job per product, status rendering', async () => {
    const refs = [
      acme.productIds['ACME-KL-6204']!,
      'ACME-KL-6205',
      'ACME-ZR-100',
      'ACME-KL-6205',
      ` ${acme.productIds['ACME-ZR-100']} `,
    ];
    const result = await run(createOrderTool, acmeTurn, { product_ids: refs, output_type_name: 'webp 1024X1024' });
    const d = data(result);
    expect(d).toMatchObject({ status: 'rendering', item_count: 3, job_count: 3 });
    expect(d.order_number).toMatch(/^SA-\d{4}-\d{5}$/);
    expect(result.summary).toBe(`Created ${String(d.order_number)} with 3 render jobs`);

    const order = await orderRow(d.order_id as string);
    expect(order).toMatchObject({ status: 'rendering', tenant_id: acme.tenant.id, material_override_id: null });
    expect(order.submitted_at).not.toBeNull();
    const jobs = await rows(
      db.orm.em.fork(),
      z.object({ status: z.string(), tenant_id: z.string(), product_id: z.string() }),
      `select j.status, j.tenant_id, j.product_id from render_job j join order_item i on i.id = j.order_item_id where j.order_id = ?`,
      [d.order_id],
    );
    expect(jobs).toHaveLength(3);
    expect(jobs.every((j) => j.status === 'queued' && j.tenant_id === acme.tenant.id)).toBe(true);
    expect(new Set(jobs.map((j) => j.product_id))).toEqual(new Set(acmePims().map((p) => acme.productIds[p])));
  });

  it('numbers orders sequentially per tenant, each tenant with its own sequence', async () => {
    const seq = (n: unknown) => Number(String(n).slice(-5));
    const a1 = data(
      await run(createOrderTool, acmeTurn, { product_ids: ['ACME-KL-6204'], output_type_name: 'WebP 1024x1024' }),
    );
    const a2 = data(
      await run(createOrderTool, acmeTurn, { product_ids: ['ACME-KL-6204'], output_type_name: 'WebP 1024x1024' }),
    );
    const g1 = data(
      await run(createOrderTool, globexTurn, { product_ids: ['GLOBEX-KL-6204'], output_type_name: 'WebP 1024x1024' }),
    );
    expect(seq(a2.order_number)).toBe(seq(a1.order_number) + 1);
    expect(g1.order_number).toBe('SA-2026-00001');
    expect(String(a1.order_number).startsWith('SA-2026-')).toBe(true);
  });

  it('previews counts, names, output type, material, overrides and the submit effect', async () => {
    const step = await prepare(createOrderTool, acmeTurn, {
      product_ids: acmePims(),
      output_type_name: 'PNG 2048x2048',
      material_override: 'steel-bare',
      render_overrides: { background: 'transparent', camera_angle: 'iso', shadow: true },
    });
    expect(step.title).toBe('Create order for 3 products and start rendering');
    const text = step.details.join('\n');
    expect(text).toContain('Products: 3');
    expect(step.sample).toEqual({
      columns: ['PIM ID', 'Product'],
      total: 3,
      rows: [
        ['ACME-KL-6204', 'ACME Rillenkugellager 6204'],
        ['ACME-KL-6205', 'ACME Rillenkugellager 6205'],
        ['ACME-ZR-100', 'ACME Zylinderrollenlager NU 206'],
      ],
    });
    expect(text).toContain('Output type: PNG 2048x2048 (PNG, 2048×2048 px)');
    expect(text).toContain('Material: Steel-Bare (override for all products)');
    expect(text).toContain('Render overrides: background transparent, camera angle iso, shadow on');
    expect(text).toContain('Submit: yes — 3 render jobs will be queued');

    const draft = await prepare(createOrderTool, acmeTurn, {
      product_ids: ['ACME-KL-6204'],
      output_type_name: 'PNG 2048x2048',
      submit: false,
    });
    expect(draft.title).toBe('Create draft order for 1 product');
    expect(draft.details.join('\n')).toContain('Material: product materials');
    expect(draft.details.join('\n')).toContain('Submit: no');
  });

  it('refuses products of another tenant, naming them, and writes nothing', async () => {
    const before = await rowCounts(acme.tenant.id);
    const foreign = [globex.productIds['GLOBEX-KL-6204']!, 'GLOBEX-ZR-100'];
    const args = { product_ids: ['ACME-KL-6204', ...foreign], output_type_name: 'WebP 1024x1024' };
    await expectUserError(
      prepare(createOrderTool, acmeTurn, args),
      'product_not_found',
      '2 of 3 products were not found',
      foreign[0]!,
      'GLOBEX-ZR-100',
    );
    await expectUserError(run(createOrderTool, acmeTurn, args), 'product_not_found', '2 of 3 products were not found');
    expect(await rowCounts(acme.tenant.id)).toEqual(before);
  });

  it('lists at most ten unknown products and says how many more', async () => {
    const refs = Array.from({ length: 14 }, (_, i) => `NOPE-${i}`);
    const message = await expectUserError(
      prepare(createOrderTool, acmeTurn, { product_ids: refs, output_type_name: 'WebP 1024x1024' }),
      'product_not_found',
      '14 of 14 products were not found',
      'NOPE-9 and 4 more',
    );
    expect(message).not.toContain('NOPE-10');
  });

  it('refuses an unknown output type, listing the available ones', async () => {
    const before = await rowCounts(acme.tenant.id);
    const args = { product_ids: ['ACME-KL-6204'], output_type_name: 'TIFF 9000' };
    await expectUserError(
      prepare(createOrderTool, acmeTurn, args),
      'output_type_not_found',
      'Unknown output type "TIFF 9000"',
      'PNG 2048x2048',
      'WebP 1024x1024',
    );
    await expectUserError(run(createOrderTool, acmeTurn, args), 'output_type_not_found');
    expect(await rowCounts(acme.tenant.id)).toEqual(before);
  });

  it('refuses an unknown material override, listing the available ones; applies a known one', async () => {
    const args = {
      product_ids: ['ACME-KL-6204'],
      output_type_name: 'WebP 1024x1024',
      material_override: 'Unobtainium',
    };
    await expectUserError(
      prepare(createOrderTool, acmeTurn, args),
      'material_not_found',
      'Unknown material "Unobtainium"',
      'NBR-Black',
      'Steel-Bare',
    );
    await expectUserError(run(createOrderTool, acmeTurn, args), 'material_not_found');
    const ok = data(await run(createOrderTool, acmeTurn, { ...args, material_override: 'nbr-black' }));
    expect((await orderRow(ok.order_id as string)).material_override_id).toBe(acme.materialIds['NBR-Black']);
  });

  it('rejects unknown render override keys with the allowed keys', async () => {
    const parsed = createOrderTool.parameters.safeParse({
      product_ids: ['ACME-KL-6204'],
      output_type_name: 'WebP 1024x1024',
      render_overrides: { colour: 'red', width: 2048 },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toBe(
      'Unknown render override key "colour"; allowed keys: width, height, background, camera_angle, quality, shadow, padding.',
    );
    expect(renderOverridesSchema.safeParse({ width: 8193 }).success).toBe(false);
    expect(renderOverridesSchema.safeParse({ background: 'red' }).success).toBe(false);
    expect(renderOverridesSchema.safeParse({ background: '#A0b1C2', padding: 50, quality: 1 }).success).toBe(true);
    // The domain service validates too, for callers that bypass the tool schema.
    await db.orm.em.fork().transactional(async (em) => {
      await expectUserError(
        createOrder(em, acme.tenant.id, {
          products: { refs: ['ACME-KL-6204'] },
          outputTypeName: 'WebP 1024x1024',
          renderOverrides: { tilt: 3 } as never,
          submit: true,
          createdBy: 'x',
          now,
        }),
        'invalid_overrides',
        'allowed keys: width',
      );
    });
  });

  it('creates orders for 20,000 products with set-based SQL', async () => {
    const big = await db.orm.em.fork().transactional(async (em) => {
      const t = await makeTenant(em, 'bigco', { products: [] });
      await upsertProducts(
        em,
        t.tenant.id,
        Array.from({ length: 20_000 }, (_, i) => ({ pimId: `B-${i}`, name: `Bearing ${i}`, category: 'Kugellager' })),
      );
      return { t, turn: await makeTurn(em, t.tenant.id) };
    });
    const refs = Array.from({ length: 20_000 }, (_, i) => `B-${i}`);
    const step = await prepare(createOrderTool, big.turn, { product_ids: refs, output_type_name: 'WebP 1024x1024' });
    expect(step.details).toContain('Products: 20,000');
    expect(step.sample).toMatchObject({
      total: 20_000,
      rows: [
        ['B-0', 'Bearing 0'],
        ['B-1', 'Bearing 1'],
        ['B-2', 'Bearing 2'],
        ['B-3', 'Bearing 3'],
        ['B-4', 'Bearing 4'],
      ],
    });
    const d = data(await run(createOrderTool, big.turn, { product_ids: refs, output_type_name: 'WebP 1024x1024' }));
    expect(d).toMatchObject({ item_count: 20_000, job_count: 20_000, status: 'rendering' });
  });
});

describe('dispatch_renders', () => {
  it('dispatches a draft, then refuses a second dispatch while rendering', async () => {
    const draft = data(
      await run(createOrderTool, acmeTurn, {
        product_ids: acmePims(),
        output_type_name: 'WebP 1024x1024',
        submit: false,
      }),
    );
    expect(draft).toMatchObject({ status: 'draft', job_count: 0, item_count: 3 });
    expect((await orderRow(draft.order_id as string)).submitted_at).toBeNull();
    expect(await jobCount(draft.order_id)).toBe(0);

    const step = await prepare(dispatchRendersTool, acmeTurn, { order_id: String(draft.order_number).toLowerCase() });
    expect(step.title).toBe(`Start rendering ${String(draft.order_number)}`);
    expect(step.details.join('\n')).toContain('3 render jobs will be queued');

    const r = await run(dispatchRendersTool, acmeTurn, { order_id: draft.order_id });
    expect(data(r)).toMatchObject({ status: 'rendering', previous_status: 'draft', mode: 'first', job_count: 3 });
    expect(await jobCount(draft.order_id, 'queued')).toBe(3);
    expect((await orderRow(draft.order_id as string)).submitted_at).not.toBeNull();

    await expectUserError(
      run(dispatchRendersTool, acmeTurn, { order_id: draft.order_number }),
      'invalid_status',
      'already rendering',
    );
  });

  it('re-dispatches only the failed renders of a failed order; refuses a completed order without failures', async () => {
    const o = data(
      await run(createOrderTool, acmeTurn, { product_ids: acmePims(), output_type_name: 'WebP 1024x1024' }),
    );
    await sql(`update render_job set status = 'completed', finished_at = now() where order_id = ?`, [o.order_id]);
    await sql(`update render_job set status = 'failed', error = 'GPU lost' where order_id = ? and product_id = ?`, [
      o.order_id,
      acme.productIds['ACME-KL-6205'],
    ]);
    await sql(`update render_order set status = 'failed' where id = ?`, [o.order_id]);

    const step = await prepare(dispatchRendersTool, acmeTurn, { order_id: o.order_number });
    expect(step.title).toBe(`Re-dispatch failed renders of ${String(o.order_number)}`);
    expect(step.details.join('\n')).toContain(
      '1 render job will be queued again for the 1 of 3 products whose renders failed',
    );
    const r = data(await run(dispatchRendersTool, acmeTurn, { order_id: o.order_number }));
    expect(r).toMatchObject({ mode: 'retry', job_count: 1, status: 'rendering' });
    const queued = await rows(
      db.orm.em.fork(),
      z.object({ product_id: z.string() }),
      `select product_id from render_job where order_id = ? and status = 'queued'`,
      [o.order_id],
    );
    expect(queued.map((q) => q.product_id)).toEqual([acme.productIds['ACME-KL-6205']]);

    await sql(`update render_job set status = 'completed' where order_id = ? and status = 'queued'`, [o.order_id]);
    await sql(`update render_order set status = 'completed' where id = ?`, [o.order_id]);
    await expectUserError(
      prepare(dispatchRendersTool, acmeTurn, { order_id: o.order_number }),
      'nothing_to_dispatch',
      'none of its renders failed',
    );
  });

  it("refuses a cancelled order, and another tenant's order as not found", async () => {
    const o = data(
      await run(createOrderTool, acmeTurn, {
        product_ids: ['ACME-KL-6204'],
        output_type_name: 'WebP 1024x1024',
        submit: false,
      }),
    );
    await expectUserError(prepare(dispatchRendersTool, globexTurn, { order_id: o.order_number }), 'order_not_found');
    await expectUserError(run(dispatchRendersTool, globexTurn, { order_id: o.order_id }), 'order_not_found');
    await sql(`update render_order set status = 'cancelled' where id = ?`, [o.order_id]);
    await expectUserError(
      prepare(dispatchRendersTool, acmeTurn, { order_id: o.order_number }),
      'invalid_status',
      'cancelled',
    );
    await expectUserError(
      run(dispatchRendersTool, acmeTurn, { order_id: o.order_number }),
      'invalid_status',
      'cancelled',
    );
    expect(await jobCount(o.order_id)).toBe(0);
  });
});

describe('set_material_override', () => {
  it('sets and clears ("none") the override of an own order', async () => {
    const o = data(
      await run(createOrderTool, acmeTurn, {
        product_ids: ['ACME-KL-6204'],
        output_type_name: 'WebP 1024x1024',
        submit: false,
      }),
    );
    const step = await prepare(setMaterialOverrideTool, acmeTurn, {
      order_id: o.order_number,
      material_name: 'STEEL-BARE',
    });
    expect(step.title).toBe(`Set material of ${String(o.order_number)} to Steel-Bare`);
    expect(step.details).toContain('Material: product materials → Steel-Bare (override for all products)');
    await run(setMaterialOverrideTool, acmeTurn, { order_id: o.order_number, material_name: 'STEEL-BARE' });
    expect((await orderRow(o.order_id as string)).material_override_id).toBe(acme.materialIds['Steel-Bare']);

    const clear = await prepare(setMaterialOverrideTool, acmeTurn, { order_id: o.order_number, material_name: 'None' });
    expect(clear.title).toBe(`Clear material override of ${String(o.order_number)}`);
    const r = await run(setMaterialOverrideTool, acmeTurn, { order_id: o.order_number, material_name: 'none' });
    expect(data(r)).toMatchObject({ previous_material_override: 'Steel-Bare', material_override: null });
    expect((await orderRow(o.order_id as string)).material_override_id).toBeNull();

    await expectUserError(
      prepare(setMaterialOverrideTool, acmeTurn, { order_id: o.order_number, material_name: 'Gold' }),
      'material_not_found',
      'Available materials: NBR-Black, Steel-Bare',
    );
  });

  it("treats another tenant's order as not found and leaves it unchanged", async () => {
    const g = data(
      await run(createOrderTool, globexTurn, {
        product_ids: ['GLOBEX-KL-6204'],
        output_type_name: 'WebP 1024x1024',
        submit: false,
      }),
    );
    const before = await orderRow(g.order_id as string);
    // Order numbers are per tenant, so the id is what identifies globex's order unambiguously.
    await expectUserError(
      prepare(setMaterialOverrideTool, acmeTurn, { order_id: g.order_id, material_name: 'Steel-Bare' }),
      'order_not_found',
    );
    await expectUserError(
      run(setMaterialOverrideTool, acmeTurn, { order_id: g.order_id, material_name: 'Steel-Bare' }),
      'order_not_found',
    );
    expect(await orderRow(g.order_id as string)).toEqual(before);
  });

  it('is refused once an order is completed', async () => {
    const o = data(
      await run(createOrderTool, acmeTurn, {
        product_ids: ['ACME-KL-6204'],
        output_type_name: 'WebP 1024x1024',
        submit: false,
      }),
    );
    await sql(`update render_order set status = 'completed' where id = ?`, [o.order_id]);
    await expectUserError(
      run(setMaterialOverrideTool, acmeTurn, { order_id: o.order_number, material_name: 'Steel-Bare' }),
      'invalid_status',
      'completed',
    );
  });
});

describe('set_render_overrides', () => {
  it('merges into existing overrides, clears keys, and previews before/after', async () => {
    const o = data(
      await run(createOrderTool, acmeTurn, {
        product_ids: ['ACME-KL-6204'],
        output_type_name: 'WebP 1024x1024',
        submit: false,
        render_overrides: { background: 'white', quality: 80 },
      }),
    );
    const args = { order_id: o.order_number, overrides: { camera_angle: 'top', quality: 95 }, clear: ['background'] };
    const step = await prepare(setRenderOverridesTool, acmeTurn, args);
    expect(step.details).toEqual(
      expect.arrayContaining([
        'Set: camera angle top, quality 95',
        'Clear: background',
        'Before: background white, quality 80',
        'After: camera angle top, quality 95',
      ]),
    );
    const r = await run(setRenderOverridesTool, acmeTurn, args);
    expect(data(r).render_overrides).toEqual({ quality: 95, camera_angle: 'top' });
    expect((await orderRow(o.order_id as string)).render_overrides).toEqual({ quality: 95, camera_angle: 'top' });

    await run(setRenderOverridesTool, acmeTurn, { order_id: o.order_number, overrides: { shadow: false } });
    expect((await orderRow(o.order_id as string)).render_overrides).toEqual({
      quality: 95,
      camera_angle: 'top',
      shadow: false,
    });
    await expectUserError(
      prepare(setRenderOverridesTool, acmeTurn, { order_id: o.order_number, overrides: {} }),
      'invalid_overrides',
      'Nothing to change',
    );
  });

  it("rejects invalid keys clearly and treats another tenant's order as not found", async () => {
    const bad = setRenderOverridesTool.parameters.safeParse({
      order_id: 'SA-2026-00001',
      overrides: { zoom: 2, fov: 3 },
    });
    expect(bad.error?.issues[0]?.message).toContain(
      'Unknown render override keys "zoom", "fov"; allowed keys: width, height',
    );
    await db.orm.em.fork().transactional(async (em) => {
      await expectUserError(
        setRenderOverrides(em, acme.tenant.id, 'SA-2026-00001', { zoom: 2 } as never),
        'invalid_overrides',
        'allowed keys',
      );
    });

    const g = data(
      await run(createOrderTool, globexTurn, {
        product_ids: ['GLOBEX-KL-6204'],
        output_type_name: 'WebP 1024x1024',
        submit: false,
      }),
    );
    const before = await orderRow(g.order_id as string);
    await expectUserError(
      prepare(setRenderOverridesTool, acmeTurn, { order_id: g.order_id, overrides: { width: 512 } }),
      'order_not_found',
    );
    await expectUserError(
      run(setRenderOverridesTool, acmeTurn, { order_id: g.order_id, overrides: { width: 512 } }),
      'order_not_found',
    );
    expect(await orderRow(g.order_id as string)).toEqual(before);
  });

  it('is refused once an order is cancelled', async () => {
    const o = data(
      await run(createOrderTool, acmeTurn, {
        product_ids: ['ACME-KL-6204'],
        output_type_name: 'WebP 1024x1024',
        submit: false,
      }),
    );
    await sql(`update render_order set status = 'cancelled' where id = ?`, [o.order_id]);
    await expectUserError(
      run(setRenderOverridesTool, acmeTurn, { order_id: o.order_number, overrides: { width: 512 } }),
      'invalid_status',
      'cancelled',
    );
    expect(describeOverrides({})).toBe('none');
  });
});
