import type { EntityManager } from '../db/orm.ts';
import { getOrderStatus } from '../pipeline/orders-read.ts';
import type { Reply, ReplyBlock } from '../replies/reply.ts';
import { getRenderResults } from '../renders/results.ts';
import type { RenderLinks } from '../renders/signing.ts';

/** Thumbnails a completion notice shows at most. */
const maxThumbnails = 6;
/** Failed items a completion notice lists at most. */
const maxListedFailures = 10;

/** The order's progress as one message, kept up to date in place while it renders. */
export async function progressReply(em: EntityManager, tenantId: string, orderId: string): Promise<Reply> {
  const r = await getRenderResults(em, tenantId, orderId, undefined, new Date());
  const { counts } = r;
  const finished = counts.completed + counts.failed;
  return {
    blocks: [
      {
        type: 'progress',
        orderNumber: r.order_number,
        status: r.status,
        total: r.item_count,
        counts: { completed: counts.completed, failed: counts.failed, running: counts.running, queued: counts.queued },
        ratio: r.item_count ? Math.min(1, finished / r.item_count) : 1,
      },
    ],
  };
}

/**
 * The completion notice of a finished (or failed) order: counts, duration, the failed items with
 * their reasons, up to six thumbnails and a link to all results. Images and the link need
 * absolute URLs (PUBLIC_URL): chat platforms fetch them from outside.
 */
export async function completionReply(
  em: EntityManager,
  tenantId: string,
  orderId: string,
  links: RenderLinks,
  now: Date,
): Promise<Reply> {
  const [results, status] = await Promise.all([
    getRenderResults(em, tenantId, orderId, links, now),
    getOrderStatus(em, tenantId, orderId, { failures: maxListedFailures }),
  ]);
  const failures = status.failures;
  const { counts } = results;
  const n = results.order_number;
  const started = status.submitted_at ?? status.first_started_at;
  const ended = status.completed_at ?? status.last_finished_at;
  const duration = started && ended ? formatDuration(Date.parse(ended) - Date.parse(started)) : undefined;
  const headline =
    counts.failed === 0
      ? `✅ **${n}** is done: all ${counts.completed} renders completed${duration ? ` in ${duration}` : ''}.`
      : `⚠️ **${n}** finished with failures: ${counts.completed} of ${results.item_count} renders completed, ${counts.failed} failed${duration ? ` (${duration})` : ''}.`;
  const blocks: ReplyBlock[] = [
    { type: 'text', text: headline },
    {
      type: 'facts',
      facts: [
        { label: 'Output', value: status.output_type },
        { label: 'Completed', value: String(counts.completed) },
        { label: 'Failed', value: String(counts.failed) },
        ...(duration ? [{ label: 'Duration', value: duration }] : []),
      ],
    },
  ];
  if (failures.length) {
    blocks.push({
      type: 'table',
      title: 'Failed renders',
      columns: ['PIM id', 'Product', 'Reason'],
      rows: failures.map((f) => [f.pim_id, f.product, f.error ?? 'unknown error']),
      total: counts.failed,
      truncated: counts.failed > failures.length,
    });
  }
  const thumbnails = results.items
    .filter((i) => i.status === 'completed' && i.thumbnail && /^https?:\/\//i.test(i.thumbnail))
    .slice(0, maxThumbnails);
  for (const t of thumbnails) blocks.push({ type: 'image', url: t.thumbnail!, alt: `${t.pim_id} ${t.product}` });
  const all = links.signedResultsUrl(orderId, undefined, now);
  const more = counts.failed ? ` Say “retry failed renders of ${n}” to try the failed ones again.` : '';
  blocks.push({
    type: 'text',
    text: /^https?:\/\//i.test(all)
      ? `[All results of ${n}](${all})${more}`
      : `Ask me for the render results of ${n} to get the links.${more}`,
  });
  return { blocks };
}

/** `42 s`, `3 min 5 s`, `2 h 4 min`. */
function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}
