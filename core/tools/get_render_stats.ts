import { z } from 'zod';
import { defineTool } from './tool.ts';
import { getRenderStats } from '../pipeline/stats.ts';
import { jobStatuses, orderStatuses } from '../pipeline/statuses.ts';

function percent(ratio: number | null): string {
  return ratio === null ? '—' : `${(ratio * 100).toFixed(1)} %`;
}

/** Reports the tenant's render pipeline numbers. */
export const getRenderStatsTool = defineTool({
  name: 'get_render_stats',
  kind: 'read',
  description:
    'Render pipeline statistics, exact: orders and render jobs by status (all time), and for the last 30 days the completed ' +
    'jobs per day and in total, the failure rate (failed / finished jobs) and the average render time in seconds of the completed jobs.',
  parameters: z.object({}),
  stepTitle: () => 'Counting orders and render jobs…',
  async run(ctx) {
    const s = await getRenderStats(ctx.em, ctx.turn.tenantId, ctx.now());
    const w = s.window;
    return {
      data: {
        orders: s.orders,
        jobs: s.jobs,
        last_30_days: {
          from: w.from,
          to: w.to,
          completed: w.completed,
          failed: w.failed,
          failure_rate: w.failure_rate,
          avg_render_seconds: w.avg_render_seconds,
          completed_per_day: Object.fromEntries(w.per_day.map((d) => [d.day, d.completed])),
        },
      },
      blocks: [
        {
          type: 'facts',
          title: `Last ${w.days} days (${w.from} – ${w.to})`,
          facts: [
            { label: 'Completed jobs', value: String(w.completed) },
            { label: 'Failed jobs', value: String(w.failed) },
            { label: 'Failure rate', value: percent(w.failure_rate) },
            { label: 'Avg. render time', value: w.avg_render_seconds === null ? '—' : `${w.avg_render_seconds} s` },
            { label: 'Per day (avg.)', value: (w.completed / w.days).toFixed(1) },
          ],
        },
        {
          type: 'table',
          title: `Orders by status (${s.orders.total} in total)`,
          columns: ['Status', 'Orders'],
          rows: orderStatuses.map((st) => [st, String(s.orders[st])]),
          total: orderStatuses.length,
          truncated: false,
        },
        {
          type: 'table',
          title: `Render jobs by status (${s.jobs.exact ? s.jobs.total : `more than ${s.jobs.total - 1}`} in total)`,
          columns: ['Status', 'Jobs'],
          rows: jobStatuses.map((st) => [st, String(s.jobs[st])]),
          total: jobStatuses.length,
          truncated: false,
        },
      ],
      outcome: `${s.orders.total} orders, ${w.completed} renders in ${w.days} days`,
      // The numbers an answer about the pipeline is most likely built on.
      effects: {
        cites: {
          counts: [
            { count: w.completed, what: `render jobs completed in the last ${w.days} days` },
            { count: w.failed, what: `render jobs failed in the last ${w.days} days` },
          ],
        },
      },
      summary: `${s.orders.total} orders, ${s.jobs.exact ? s.jobs.total : `over ${s.jobs.total - 1}`} jobs; ${w.completed} completed in the last ${w.days} days`,
    };
  },
});
