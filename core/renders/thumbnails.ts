import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { localRenderPath, type RenderFormat } from './local.ts';

/** Longest side of a thumbnail in pixels: six of them side by side stay small in a chat message. */
const thumbnailSize = 256;
const thumbnailQuality = 70;

/** Where the thumbnail of local render `jobId` of `tenantId` is cached (under DATA_DIR/thumbs). */
export function thumbnailPath(dataDir: string, tenantId: string, jobId: string): string {
  return join(dataDir, 'thumbs', tenantId, `${jobId}.webp`);
}

/**
 * The path of a small WebP of a local render, made from the full-size file the first time it is
 * asked for and kept (temp file + rename, so concurrent first requests each write whole files and
 * one wins). Undefined when the render's file is gone.
 */
export async function ensureThumbnail(
  dataDir: string,
  tenantId: string,
  jobId: string,
  format: RenderFormat,
): Promise<string | undefined> {
  const file = thumbnailPath(dataDir, tenantId, jobId);
  if (await exists(file)) return file;
  const source = localRenderPath(dataDir, tenantId, jobId, format);
  if (!(await exists(source))) return undefined;
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await sharp(source)
      .resize(thumbnailSize, thumbnailSize, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: thumbnailQuality })
      .toFile(tmp);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}
