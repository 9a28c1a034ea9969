import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { EntityManager } from '../db/orm.ts';
import { localRenderPath } from '../renders/local.ts';
import type { RenderLinks } from '../renders/signing.ts';
import { csvLine, resultsCsvColumns, resultsCsvLine } from './csv.ts';
import { exportItems, type ExportItem } from './items.ts';
import type { ByteSink } from './sink.ts';
import { createZipWriter } from './zip-writer.ts';

/** Bytes read from a large image file at a time; files up to `wholeFileBytes` are read at once. */
const readChunkBytes = 256 * 1024;
const wholeFileBytes = 4 * 1024 * 1024;

/**
 * Writes the rendered images of order `orderId` of `tenantId` as a ZIP to `out`: one stored
 * (not recompressed: they already are) entry `<PIM id>.<format>` per completed local render, then
 * `results.csv` (deflated) with every item (farm results are listed there by URL; the bot never
 * fetches them). Streams file by file and waits for `out` to drain, so memory stays flat whatever
 * the order's size; any number of images and any total size (Zip64 where needed).
 */
export async function writeResultsZip(
  em: EntityManager,
  dataDir: string,
  tenantId: string,
  orderId: string,
  links: RenderLinks | undefined,
  now: Date,
  out: ByteSink,
): Promise<{ images: number; items: number; bytes: number }> {
  const zip = createZipWriter(out, now);
  let images = 0;
  for await (const batch of exportItems(em, tenantId, orderId)) {
    for (const item of batch) {
      if (!isLocalResult(item)) continue;
      const file = await open(localRenderPath(dataDir, tenantId, item.job_id!, item.format), 'r').catch(
        () => undefined,
      );
      if (!file) continue; // gone from disk: results.csv still lists the item
      try {
        const name = zipEntryName(item.pim_id, item.format);
        const { size } = await file.stat();
        // A typical render is read in one call, while the one before it is still being written.
        if (size <= wholeFileBytes) await zip.addStored(name, await file.readFile());
        else
          await zip.addStoredStream(name, file.createReadStream({ highWaterMark: readChunkBytes, autoClose: false }));
        images += 1;
      } finally {
        await file.close();
      }
    }
  }

  const csv = zip.addDeflated('results.csv');
  await csv.write(`\uFEFF${csvLine(resultsCsvColumns)}`);
  let items = 0;
  for await (const batch of exportItems(em, tenantId, orderId)) {
    await csv.write(batch.map((i) => resultsCsvLine(i, links, now)).join(''));
    items += batch.length;
  }
  await csv.end();
  return { images, items, bytes: await zip.finish() };
}

function isLocalResult(item: ExportItem): boolean {
  return item.status === 'completed' && item.job_id !== null && item.result_url?.startsWith('/renders/') === true;
}

/**
 * `<PIM id>.<format>`: PIM ids are unique per tenant, so names are too. An id that is not a safe
 * file name (path separators, dots in front, control or unusual characters) is spelled safely
 * with a short hash of the real id appended, so two ids never meet in one name.
 */
export function zipEntryName(pimId: string, format: string): string {
  const safe = pimId
    .replace(/[^A-Za-z0-9._ -]/g, '_')
    .replace(/^[. ]+/, '_')
    .slice(0, 120);
  if (safe === pimId && safe.length > 0) return `${safe}.${format}`;
  return `${safe}~${createHash('sha256').update(pimId).digest('hex').slice(0, 8)}.${format}`;
}
