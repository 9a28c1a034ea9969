import { z } from 'zod';
import { readFileSheet } from '../files/service.ts';
import { stepLine } from '../replies/steps.ts';
import { defineTool } from './tool.ts';

const parameters = z.object({
  file_id: z.string().trim().min(1).max(64).describe('The file id of a workbook the user attached.'),
  sheet: z.string().trim().min(1).max(100).describe('The name of the sheet to read, as the file summary lists it.'),
});

/**
 * Reads another sheet of a workbook the user attached (docs/design.md §12 "Files in"): the stored
 * bytes go through the upload path again with that sheet and become a new file with its own id,
 * so create_order's product_file takes it. Writes only that file (like an upload): a read tool.
 */
export const readFileSheetTool = defineTool({
  name: 'read_file_sheet',
  kind: 'read',
  description:
    'Read another sheet of an attached workbook (an .xlsx file is read from its first sheet unless the user names another). ' +
    "Gives a new file id with that sheet's summary: pass that id as product_file to create_order.",
  parameters,
  stepTitle: (args) => `Reading sheet ${stepLine(args.sheet, 64)}…`,
  async run(ctx, args) {
    const { turn } = ctx;
    const who = { tenantId: turn.tenantId, platform: turn.platform, userId: turn.userId };
    const stored = await readFileSheet(ctx.em, who, args.file_id, args.sheet);
    const { summary } = stored;
    ctx.log.info({ tenantId: turn.tenantId, fileId: stored.fileId, from: args.file_id }, 'file sheet stored');
    return {
      data: { file_id: stored.fileId, summary: stored.text },
      outcome: `${summary.matched.toLocaleString('en-US')} match products`,
      summary: `Read sheet ${summary.sheet ?? args.sheet} of ${summary.name}`,
    };
  },
});
