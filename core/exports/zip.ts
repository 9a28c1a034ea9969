import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import type { EntityManager } from '../db/orm.ts';
import { UserInputError } from '../errors.ts';
import { localRenderPath } from '../renders/local.ts';
import type { RenderLinks } from '../renders/signing.ts';
import { csvLine, resultsCsvColumns, resultsCsvLine } from './csv.ts';
import { exportItems, type ExportItem } from './items.ts';
import { drained, type ByteSink } from './sink.ts';

/** A ZIP without Zip64 (fflate writes none) holds at most 65,535 entries; one is results.csv. */
export const maxZipImages = 65_534;
/** ... and at most 4 GiB: offsets are 32-bit. */
const maxZipBytes = 0xffff_ffff;
/** Bytes read from a large image file at a time; files up to `wholeFileBytes` are read at once. */
const readChunkBytes = 256 * 1024;
const wholeFileBytes = 4 * 1024 * 1024;

/**
 * Writes the rendered images of order `orderId` of `tenantId` as a ZIP to `out`: one stored
 * (not recompressed: they already are) entry `<PIM id>.<format>` per completed local render, then
 * `results.csv` with every item (farm results are listed there by URL; the bot never fetches
 * them). Streams file by file and waits for `out` to drain, so memory stays flat whatever the
 * order's size (the central directory, a few dozen bytes per entry, is all that grows).
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
  let bytes = 0;
  let failed: Error | undefined;
  const zip = new Zip((err, chunk) => {
    if (err) failed ??= err;
    else {
      bytes += chunk.length;
      out.write(chunk);
    }
  });
  const flushed = async () => {
    if (failed) throw failed;
    if (bytes > maxZipBytes)
      throw new UserInputError(
        'export_too_large',
        'The images of this order are more than 4 GB together, too many for one ZIP; ask for the CSV with links instead.',
      );
    await drained(out);
  };

  let images = 0;
  for await (const batch of exportItems(em, tenantId, orderId)) {
    for (const item of batch) {
      if (!isLocalResult(item)) continue;
      if (images >= maxZipImages)
        throw new UserInputError(
          'export_too_large',
          `A ZIP holds at most ${maxZipImages.toLocaleString('en')} images; ask for the CSV with links instead.`,
        );
      const file = await open(localRenderPath(dataDir, tenantId, item.job_id!, item.format), 'r').catch(
        () => undefined,
      );
      if (!file) continue; // gone from disk: results.csv still lists the item
      try {
        const entry = new ZipPassThrough(zipEntryName(item.pim_id, item.format));
        zip.add(entry);
        const { size } = await file.stat();
        if (size <= wholeFileBytes) {
          // A typical render is read in one call: a stream per small file costs more than the bytes.
          entry.push(await file.readFile(), true);
        } else {
          for await (const chunk of file.createReadStream({ highWaterMark: readChunkBytes, autoClose: false })) {
            entry.push(chunk as Buffer);
            await flushed();
          }
          entry.push(new Uint8Array(0), true);
        }
        images += 1;
      } finally {
        await file.close();
      }
      await flushed();
    }
  }

  const csv = new ZipDeflate('results.csv', { level: 6 });
  zip.add(csv);
  csv.push(new TextEncoder().encode(`\uFEFF${csvLine(resultsCsvColumns)}`));
  let items = 0;
  for await (const batch of exportItems(em, tenantId, orderId)) {
    csv.push(new TextEncoder().encode(batch.map((i) => resultsCsvLine(i, links, now)).join('')));
    items += batch.length;
    await flushed();
  }
  csv.push(new Uint8Array(0), true);
  zip.end();
  await flushed();
  return { images, items, bytes };
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
