import { z } from 'zod';
import { UserInputError } from '../errors.ts';
import { exportFileName } from '../exports/links.ts';
import { resolveOrder } from '../pipeline/lookup.ts';
import { getRenderResults } from '../renders/results.ts';
import { exportFormats, exportLinkTtlSeconds } from '../renders/signing.ts';
import { orderIdParam } from './params.ts';
import { defineTool } from './tool.ts';

/**
 * Prepares an order's results as a file: a CSV of every item or a ZIP of the rendered images.
 * The reply carries a file block with a signed 24-hour link; adapters attach the file where
 * their platform lets a bot (core/exports, docs/design.md §12). Nothing is written: a read tool.
 */
export const exportResultsTool = defineTool({
  name: 'export_results',
  kind: 'read',
  description:
    'Give the user an order\'s render results as a file: format "csv" is a spreadsheet of every item (PIM id, name, material, status, ' +
    'result URL, error); format "zip" holds the rendered images named by PIM id plus that CSV. The file is attached to your reply ' +
    '(or linked there, valid 24 hours): do not repeat a link, just say what the file holds.',
  parameters: z.object({
    order_id: orderIdParam,
    format: z.enum(exportFormats).describe('csv: the list of results; zip: the rendered images themselves.'),
  }),
  async run(ctx, args) {
    const links = ctx.renderLinks;
    if (!links)
      throw new UserInputError(
        'export_unavailable',
        'Files cannot be handed out here: this deployment serves no download links.',
      );
    const now = ctx.now();
    const order = await resolveOrder(ctx.em, ctx.turn.tenantId, args.order_id);
    const r = await getRenderResults(ctx.em, ctx.turn.tenantId, order.id, undefined, now, 1);
    const completed = r.counts.completed;
    if (args.format === 'zip' && completed === 0) {
      throw new UserInputError(
        'export_empty',
        `${r.order_number} has no finished renders yet, so there are no images to zip; the CSV lists every item's status.`,
      );
    }
    const name = exportFileName(r.order_number, args.format);
    const expiresAt = new Date(now.getTime() + exportLinkTtlSeconds * 1000).toISOString();
    const description =
      args.format === 'csv'
        ? `${r.item_count.toLocaleString('en')} items: PIM id, name, material, status, result URL, error`
        : `${completed.toLocaleString('en')} rendered images named by PIM id, and results.csv`;
    return {
      data: {
        order_number: r.order_number,
        format: args.format,
        file_name: name,
        items: r.item_count,
        completed,
        failed: r.counts.failed,
        expires_at: expiresAt,
        delivered: 'attached to your reply (or linked there); do not repeat a link',
      },
      blocks: [
        {
          type: 'file',
          name,
          description,
          url: links.signedExportUrl(ctx.turn.tenantId, order.id, args.format, exportLinkTtlSeconds, now),
          expiresAt,
        },
      ],
      summary: `Exported ${r.order_number} as ${args.format.toUpperCase()}`,
    };
  },
});
