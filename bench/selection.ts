import type { TurnScope } from '../core/turn-scope.ts';
import { confirmAction } from '../core/actions/decide.ts';
import { createPendingAction } from '../core/actions/store.ts';
import type { Orm } from '../core/db/orm.ts';
import { z } from 'zod';
import { row } from '../core/db/sql.ts';
import type { Logger } from '../core/logger.ts';
import { getRenderResults } from '../core/renders/results.ts';
import { defaultTools } from '../core/tools/index.ts';
import { needsApproval } from '../core/tools/tool.ts';
import { resultsPage } from '../bot/results-page.ts';

/** Times of one run: milliseconds, sorted. */
type Times = number[];

/** What `benchSelection` measured. */
export type SelectionBench = {
  category: string;
  products: number;
  prepareMs: number;
  /** Confirm → order created and dispatched, alone. */
  confirmMs: number;
  /** The same while another conversation keeps calling read tools. */
  confirmWithReadsMs: number;
  order: { items: number; jobs: number; queueJobs: number };
  /** Read tools of other conversations while the confirm ran. */
  others: Times;
  /** Tools and the results page on the new order. */
  onOrder: { name: string; times: Times }[];
};

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/**
 * "Render all <category>" on the bench tenant: prepares create_order with a product_filter
 * (the selection is frozen), stores the confirmation, then confirms it — create the order with
 * one item, render job and queue job per product in one transaction — once alone and once while
 * another conversation keeps calling read tools. Then times the tools people use on such an
 * order, and deletes the orders again (with their queue jobs) so the bench database stays as seeded.
 */
export async function benchSelection(
  orm: Orm,
  turn: TurnScope,
  log: Logger,
  category: string,
  runs = 10,
): Promise<SelectionBench> {
  const now = () => new Date();
  const create = defaultTools.get('create_order')!;
  if (!needsApproval(create)) throw new Error('create_order must need approval');
  const args = create.parameters.parse({ product_filter: { category }, output_type_name: 'WebP 1024x1024' });
  const actor = { tenantId: turn.tenantId, userId: 'bench', role: 'operator' as const, platform: 'cli' as const };

  /** Prepares (freezes) and confirms one "render all" order; returns its id, number and the times. */
  const order = async () => {
    let t0 = performance.now();
    const { frozen, ...step } = await create.prepare({ turn, em: orm.em.fork(), log, now }, args);
    const prepareMs = performance.now() - t0;
    const action = await createPendingAction(
      orm.em.fork(),
      turn,
      [{ toolCallId: 'bench', tool: 'create_order', args, step, ...(frozen ? { frozen } : {}) }],
      now(),
    );
    t0 = performance.now();
    const decision = await confirmAction({ orm, log, tools: defaultTools, now }, actor, action.id);
    const confirmMs = performance.now() - t0;
    if (!decision.executed) throw new Error(`confirm failed: ${decision.message}`);
    const created = decision.executed.results[0]!.data as { order_id: string; order_number: string };
    return { ...created, prepareMs, confirmMs };
  };
  const remove = (orderId: string) =>
    orm.em.fork().transactional(async (tx) => {
      await tx.execute(`select count(graphile_worker.remove_job(id::text)) from render_job where order_id = ?`, [
        orderId,
      ]);
      await tx.execute(`delete from render_order where id = ?`, [orderId]);
    });

  // Alone first, then while another conversation keeps calling read tools.
  const alone = await order();
  await remove(alone.order_id);
  const others: number[] = [];
  let confirming = true;
  const reader = (async () => {
    const reads = [
      ['search_products', { category: 'Kugellager', limit: 25 }],
      ['list_orders', {}],
      ['get_render_stats', {}],
    ] as const;
    for (let i = 0; confirming; i++) {
      const [name, a] = reads[i % reads.length]!;
      const tool = defaultTools.get(name)!;
      const r0 = performance.now();
      await tool.run({ turn, em: orm.em.fork(), log, now }, tool.parameters.parse(a));
      others.push(performance.now() - r0);
    }
  })();
  const created = await order().finally(() => {
    confirming = false;
  });
  await reader;
  const em = orm.em.fork();
  const counts = (await row(
    em,
    z.object({ items: z.coerce.number(), jobs: z.coerce.number(), queue: z.coerce.number() }),
    `select (select count(*) from order_item where order_id = ?) as items, (select count(*) from render_job where order_id = ?) as jobs,
            (select count(*) from graphile_worker.jobs q join render_job j on q.key = j.id::text where j.order_id = ?) as queue`,
    [created.order_id, created.order_id, created.order_id],
  ))!;

  const onOrder: SelectionBench['onOrder'] = [];
  const time = async (name: string, f: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < runs + 2; i++) {
      const r0 = performance.now();
      await f();
      if (i >= 2) times.push(performance.now() - r0); // the first runs warm caches and plans
    }
    onOrder.push({ name, times: sorted(times) });
  };
  const ref = { order_id: created.order_number };
  for (const name of ['get_order_status', 'check_materials', 'get_render_results']) {
    const tool = defaultTools.get(name)!;
    await time(name, () => tool.run({ turn, em: orm.em.fork(), log, now }, tool.parameters.parse(ref)));
  }
  for (const [name, a] of [
    ['set_material_override', { ...ref, material_name: 'Steel-Bare' }],
    ['set_render_overrides', { ...ref, overrides: { quality: 85 } }],
  ] as const) {
    const tool = defaultTools.get(name)!;
    if (!needsApproval(tool)) continue;
    const parsed = tool.parameters.parse(a);
    await time(`${name} (prepare + run)`, async () => {
      await tool.prepare({ turn, em: orm.em.fork(), log, now }, parsed);
      await orm.em.fork().transactional((tx) => tool.run({ turn, em: tx, log, now }, parsed));
    });
  }
  await time('results page', async () =>
    resultsPage(await getRenderResults(orm.em.fork(), turn.tenantId, created.order_number, undefined, now(), 1000)),
  );

  await remove(created.order_id);
  return {
    category,
    products: Number(counts.items),
    prepareMs: alone.prepareMs,
    confirmMs: alone.confirmMs,
    confirmWithReadsMs: created.confirmMs,
    order: { items: Number(counts.items), jobs: Number(counts.jobs), queueJobs: Number(counts.queue) },
    others: sorted(others),
    onOrder,
  };
}
