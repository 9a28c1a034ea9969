import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EntityManager } from '../db/orm.ts';
import type { RenderLinks } from '../renders/signing.ts';
import { writeResultsCsv } from './csv.ts';
import { resolveExportUrl, type ExportRef } from './links.ts';
import type { ByteSink } from './sink.ts';
import { writeResultsZip } from './zip.ts';

/** Writes the export `ref` names to `out` (CSV or ZIP), streaming. */
export async function writeExport(
  em: EntityManager,
  dataDir: string,
  links: RenderLinks,
  ref: ExportRef,
  now: Date,
  out: ByteSink,
): Promise<void> {
  if (ref.format === 'csv') await writeResultsCsv(em, ref.tenantId, ref.orderId, links, now, out);
  else await writeResultsZip(em, dataDir, ref.tenantId, ref.orderId, links, now, out);
}

/** An export written to a file of its own, for platforms that need the size before the bytes; `remove` deletes it. */
type ExportFile = { path: string; size: number; remove(): Promise<void> };

/**
 * Writes the export to a new file under DATA_DIR/exports/tmp (a name the bot makes, never one a
 * person gives) for an upload; the caller removes it when the upload is done.
 */
async function exportToFile(
  em: EntityManager,
  dataDir: string,
  links: RenderLinks,
  ref: ExportRef,
  now: Date,
): Promise<ExportFile> {
  const dir = join(dataDir, 'exports', 'tmp');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${randomUUID()}.${ref.format}`);
  const remove = () => rm(path, { force: true });
  try {
    const out = createWriteStream(path);
    await writeExport(em, dataDir, links, ref, now, out);
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return { path, size: (await stat(path)).size, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/**
 * Turns a file block's signed link into a file of the export, for adapters that upload files:
 * undefined when the link is not a valid export link of `tenantId` (then they show the link).
 */
export type FileExporter = (tenantId: string, url: string) => Promise<ExportFile | undefined>;

/** The FileExporter over the app's database, data directory and link key; no transaction is held while it writes. */
export function createFileExporter(
  em: () => EntityManager,
  dataDir: string,
  links: RenderLinks,
  now: () => Date,
): FileExporter {
  return async (tenantId, url) => {
    const link = await resolveExportUrl(em(), links, url, now());
    if (!link.ok || link.ref.tenantId !== tenantId) return undefined;
    return exportToFile(em(), dataDir, links, link.ref, now());
  };
}
