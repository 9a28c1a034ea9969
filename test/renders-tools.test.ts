import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnScope } from '../core/turn-scope.ts';
import { RenderBotError, UserInputError } from '../core/errors.ts';
import { createOrder } from '../core/pipeline/orders.ts';
import { createRenderLinks } from '../core/renders/signing.ts';
import { cancelOrderTool } from '../core/tools/cancel_order.ts';
import { getRenderResultsTool } from '../core/tools/get_render_results.ts';
import { defaultTools } from '../core/tools/index.ts';
import { retryFailedRendersTool } from '../core/tools/retry_failed_renders.ts';
import type { Tool, ToolDeps, ToolResult, WriteTool } from '../core/tools/tool.ts';
import type { EntityManager } from '../core/db/orm.ts';
import { silentLog } from './support/core.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant, makeTurn, type TenantFixture } from './support/fixtures.ts';
import { jobsOf, submitOrder } from './support/renders.ts';
import { rows } from './support/rows.ts';

let db: TestDatabase;
let acme: TenantFixture;
let acmeTurn: TurnScope;
let globexTurn: TurnScope;
const links = createRenderLinks(randomBytes(32), 'https://bot.example.com');

beforeAll(async () => {
  db = await createTestDatabase();
  const em = db.orm.em.fork();
  acme = await makeTenant(em, 'acme');
  const globex = await makeTenant(em, 'globex');
  acmeTurn = await makeTurn(em, acme.tenant.id);
  globexTurn = await makeTurn(em, globex.tenant.id);
});
afterAll(async () => {
  await db.drop();
});

const ctxFor = (turn: TurnScope, em: EntityManager): ToolDeps => ({
  turn,
  em,
  log: silentLog,
  now: () => new Date(),
  renderLinks: links,
});
async function read<S extends z.ZodObject>(tool: Tool<S>, turn: TurnScope, raw: unknown): Promise<ToolResult> {
  return tool.run(ctxFor(turn, db.orm.em.fork()), tool.parameters.parse(raw));
}
async function prepare<S extends z.ZodObject>(tool: Tool<S>, turn: TurnScope, raw: unknown) {
  const t = tool as unknown as WriteTool;
  return t.prepare(ctxFor(turn, db.orm.em.fork()), t.parameters.parse(raw));
}
async function run<S extends z.ZodObject>(tool: Tool<S>, turn: TurnScope, raw: unknown): Promise<ToolResult> {
  const t = tool as unknown as WriteTool;
  const args = t.parameters.parse(raw);
  return db.orm.em.fork().transactional((em) => t.run(ctxFor(turn, em), args));
}
async function expectUserError(p: Promise<unknown>, code: string, fragment?: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserInputError);
  expect((err as RenderBotError).code).toBe(code);
  if (fragment) expect((err as Error).message).toMatch(fragment);
}
async function sql(text: string, params: unknown[] = []): Promise<void> {
  await db.orm.em.fork().execute(text, params);
}
/** Finishes jobs of an order by hand (no worker runs in this file): pim id → completed | failed. */
async function finish(orderId: string, outcome: Record<string, 'completed' | 'failed'>, orderStatus: string) {
  for (const j of await jobsOf(db.orm.em.fork(), orderId)) {
    const s = outcome[j.pim_id];
    if (!s) continue;
    await sql(
      `update render_job set status = ?, attempts = 1, finished_at = now(), result_url = ?, error = ? where id = ?`,
      [
        s,
        s === 'completed'
          ? j.pim_id.endsWith('6204')
            ? `/renders/${j.id}`
            : `https://farm.example.com/${j.pim_id}.webp`
          : null,
        s === 'failed' ? 'mesh missing' : null,
        j.id,
      ],
    );
  }
  await sql(`update render_order set status = ? where id = ?`, [orderStatus, orderId]);
}
const queueJobs = async (orderId: string) =>
  (
    await rows(
      db.orm.em.fork(),
      z.object({ n: z.string() }),
      `select count(*) as n from graphile_worker.jobs where task_identifier = 'render_job' and key in (select id::text from render_job where order_id = ?)`,
      [orderId],
    )
  )[0]!.n;

describe('the three render tools are registered', () => {
  it('get_render_results is a read tool; cancel_order and retry_failed_renders are write tools', () => {
    expect(defaultTools.get('get_render_results')?.kind).toBe('read');
    expect(defaultTools.get('cancel_order')?.kind).toBe('write');
    expect(defaultTools.get('retry_failed_renders')?.kind).toBe('write');
  });
});

describe('get_render_results', () => {
  it('lists per-item status with fresh signed links (local) or farm URLs, counts, a table and image blocks; other tenants see nothing', async () => {
    const order = await submitOrder(
      db.orm,
      acme.tenant.id,
      ['ACME-KL-6204', 'ACME-KL-6205', 'ACME-DI-20'],
      'WebP 1024x1024',
    );
    expect(await queueJobs(order.orderId)).toBe('3'); // one queue job per render job, added with the order
    const [qj] = await rows(
      db.orm.em.fork(),
      z.object({
        key: z.string(),
        priority: z.number(),
        max_attempts: z.number(),
        payload: z.object({ renderJobId: z.string(), tenantId: z.string() }),
      }),
      `select j.key, j.priority, j.max_attempts, j.payload from graphile_worker._private_jobs j where j.key = (select min(id::text) from render_job where order_id = ?)`,
      [order.orderId],
    );
    expect(qj).toMatchObject({
      priority: 10,
      max_attempts: 25,
      payload: { renderJobId: qj!.key, tenantId: acme.tenant.id },
    });
    await finish(
      order.orderId,
      { 'ACME-KL-6204': 'completed', 'ACME-KL-6205': 'completed', 'ACME-DI-20': 'failed' },
      'failed',
    );
    const r = await read(getRenderResultsTool, acmeTurn, { order_id: order.orderNumber.toLowerCase() });
    const data = r.data as {
      counts: Record<string, number>;
      items: { pim_id: string; status: string; url: string | null; error: string | null }[];
    };
    expect(data.counts).toEqual({ queued: 0, running: 0, completed: 2, failed: 1, not_dispatched: 0 });
    expect(data.items.map((i) => [i.pim_id, i.status])).toEqual([
      ['ACME-KL-6204', 'completed'],
      ['ACME-KL-6205', 'completed'],
      ['ACME-DI-20', 'failed'],
    ]);
    const local = data.items[0]!.url!;
    expect(local).toMatch(/^https:\/\/bot\.example\.com\/renders\/[0-9a-f-]{36}\?exp=\d+&sig=[0-9a-f]{64}$/);
    const u = new URL(local);
    expect(links.verify(u.pathname.split('/').pop()!, u.searchParams.get('exp')!, u.searchParams.get('sig')!)).toBe(
      'ok',
    );
    expect(data.items[1]!.url).toBe('https://farm.example.com/ACME-KL-6205.webp');
    expect(data.items[2]).toMatchObject({ url: null, error: 'mesh missing' });
    expect(r.blocks?.map((b) => b.type)).toEqual(['table', 'image', 'image']);

    await expectUserError(read(getRenderResultsTool, globexTurn, { order_id: order.orderNumber }), 'order_not_found');
    await expectUserError(read(getRenderResultsTool, globexTurn, { order_id: order.orderId }), 'order_not_found');
  });
});

describe('cancel_order', () => {
  it('cancels a rendering order: queued jobs fail "cancelled" and leave the queue, running ones are left to finish; other tenants cannot', async () => {
    const order = await submitOrder(
      db.orm,
      acme.tenant.id,
      ['ACME-KL-6204', 'ACME-KL-6205', 'ACME-ZR-100'],
      'WebP 1024x1024',
    );
    const [first] = await jobsOf(db.orm.em.fork(), order.orderId);
    await sql(`update render_job set status = 'running', attempts = 1, started_at = now() where id = ?`, [first!.id]);

    await expectUserError(prepare(cancelOrderTool, globexTurn, { order_id: order.orderNumber }), 'order_not_found');
    await expectUserError(run(cancelOrderTool, globexTurn, { order_id: order.orderId }), 'order_not_found');
    expect(
      (
        await rows(db.orm.em.fork(), z.object({ status: z.string() }), `select status from render_order where id = ?`, [
          order.orderId,
        ])
      )[0]!.status,
    ).toBe('rendering');

    const step = await prepare(cancelOrderTool, acmeTurn, { order_id: order.orderNumber });
    expect(step.details.join('\n')).toMatch(
      /2 render jobs not started yet will be dropped[\s\S]*1 render job already running will finish/,
    );
    const r = await run(cancelOrderTool, acmeTurn, { order_id: order.orderNumber });
    expect(r.data).toMatchObject({
      status: 'cancelled',
      previous_status: 'rendering',
      cancelled_jobs: 2,
      running_jobs: 1,
    });
    const jobs = await jobsOf(db.orm.em.fork(), order.orderId);
    expect(jobs.map((j) => [j.status, j.error])).toEqual([
      ['running', null],
      ['failed', 'cancelled'],
      ['failed', 'cancelled'],
    ]);
    expect(await queueJobs(order.orderId)).toBe('1'); // only the running job's queue entry remains
    await expectUserError(
      run(cancelOrderTool, acmeTurn, { order_id: order.orderNumber }),
      'invalid_status',
      /cancelled and can no longer be cancelled/,
    );
  });
});

describe('retry_failed_renders', () => {
  it('queues new jobs (and queue entries) for the failed items only; refuses drafts, rendering orders and other tenants', async () => {
    const order = await submitOrder(
      db.orm,
      acme.tenant.id,
      ['ACME-KL-6204', 'ACME-KL-6205', 'ACME-DI-20'],
      'WebP 1024x1024',
    );
    await expectUserError(
      prepare(retryFailedRendersTool, acmeTurn, { order_id: order.orderNumber }),
      'invalid_status',
      /already rendering/,
    );
    await finish(
      order.orderId,
      { 'ACME-KL-6204': 'completed', 'ACME-KL-6205': 'failed', 'ACME-DI-20': 'failed' },
      'failed',
    );

    await expectUserError(
      prepare(retryFailedRendersTool, globexTurn, { order_id: order.orderNumber }),
      'order_not_found',
    );
    await expectUserError(run(retryFailedRendersTool, globexTurn, { order_id: order.orderId }), 'order_not_found');

    const step = await prepare(retryFailedRendersTool, acmeTurn, { order_id: order.orderNumber });
    expect(step.details.join('\n')).toMatch(/2 render jobs will be queued again for the 2 of 3 products/);
    const r = await run(retryFailedRendersTool, acmeTurn, { order_id: order.orderNumber });
    expect(r.data).toMatchObject({ status: 'rendering', previous_status: 'failed', job_count: 2 });
    const jobs = await jobsOf(db.orm.em.fork(), order.orderId);
    expect(jobs.filter((j) => j.status === 'queued').map((j) => j.pim_id)).toEqual(['ACME-DI-20', 'ACME-KL-6205']);
    expect(await queueJobs(order.orderId)).toBe('5'); // 3 from the first dispatch (not run here) + 2 new

    const draft = await db.orm.em.fork().transactional((tx) =>
      createOrder(tx, acme.tenant.id, {
        products: { refs: ['ACME-KL-6204'] },
        outputTypeName: 'WebP 1024x1024',
        submit: false,
        createdBy: 'test',
        now: new Date(),
      }),
    );
    await expectUserError(
      prepare(retryFailedRendersTool, acmeTurn, { order_id: draft.orderNumber }),
      'nothing_to_dispatch',
      /start it with dispatch_renders/,
    );
  });
});
