import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { RenderJobSpec } from './jobs.ts';
import { ellipsize } from '../replies/format.ts';

/** Content types of the formats output types may have. */
export const renderContentTypes = { webp: 'image/webp', png: 'image/png', jpeg: 'image/jpeg' } as const;
/** A file extension a local render may have. */
export type RenderFormat = keyof typeof renderContentTypes;
export const renderFormats = ['webp', 'png', 'jpeg'] as const satisfies readonly RenderFormat[];

/** Where the local backend stores job `jobId` of `tenantId` (under DATA_DIR/renders). */
export function localRenderPath(dataDir: string, tenantId: string, jobId: string, format: RenderFormat): string {
  return join(dataDir, 'renders', tenantId, `${jobId}.${format}`);
}

const webpEffort = 2;
const namedBackgrounds: Record<string, string> = { white: '#ffffff', black: '#000000', transparent: '#00000000' };

/**
 * The built-in preview renderer: a product tile in the order's format and size (render
 * overrides for width, height, background and quality win) with name, PIM id, category and a
 * material swatch. Writes atomically (temp file + rename) and returns the file path.
 */
export async function renderLocalTile(dataDir: string, job: RenderJobSpec): Promise<string> {
  const width = job.overrides.width ?? job.outputType.width;
  const height = job.overrides.height ?? job.outputType.height;
  const format = job.outputType.format;
  const background = namedBackgrounds[job.overrides.background ?? 'white'] ?? job.overrides.background ?? '#ffffff';
  const dark = job.overrides.background === 'black';
  const svg = tileSvg(job, width, height, dark);
  let image = sharp({ create: { width, height, channels: 4, background } }).composite([
    { input: Buffer.from(svg), top: 0, left: 0 },
  ]);
  const quality = job.overrides.quality;
  // WebP effort 2 (libvips' default is 4): a flat tile costs about a quarter less CPU to encode and is ~5 % larger.
  image =
    format === 'webp'
      ? image.webp({ effort: webpEffort, ...(quality ? { quality } : {}) })
      : format === 'jpeg'
        ? image.flatten({ background: dark ? '#000000' : '#ffffff' }).jpeg(quality ? { quality } : {})
        : image.png();
  const file = localRenderPath(dataDir, job.tenantId, job.jobId, format);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, await image.toBuffer());
  await rename(tmp, file);
  return file;
}

function tileSvg(job: RenderJobSpec, w: number, h: number, dark: boolean): string {
  const ink = dark ? '#f2f2f2' : '#1d2433';
  const muted = dark ? '#b8bcc6' : '#5b6475';
  const unit = Math.min(w, h);
  const pad = Math.round(unit * 0.08);
  const swatch = Math.round(unit * 0.28);
  const title = Math.max(8, Math.round(unit * 0.055));
  const small = Math.max(6, Math.round(unit * 0.038));
  const material = job.material ?? 'product material';
  // Characters that fit the width, taking a glyph as 0.6 em (bold sans and monospace are about that wide).
  const fits = (size: number) => Math.max(4, Math.floor((w - 2 * pad) / (size * 0.6)));
  const name = wrap(job.product.name, fits(title), 2);
  const top = Math.round(h * 0.58);
  const below = top + title * 1.25 * (name.length - 1) + title * 1.5;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
  <rect x="${pad}" y="${pad}" width="${swatch}" height="${swatch}" rx="${Math.round(swatch / 8)}" fill="${swatchColour(material)}" stroke="${muted}" stroke-width="${Math.max(1, Math.round(unit / 256))}"/>
  <text x="${pad}" y="${pad + swatch + small * 1.6}" font-family="sans-serif" font-size="${small}" fill="${muted}">${esc(ellipsize(material, fits(small)))}</text>
  ${name.map((line, i) => `<text x="${pad}" y="${Math.round(top + i * title * 1.25)}" font-family="sans-serif" font-size="${title}" font-weight="bold" fill="${ink}">${esc(line)}</text>`).join('\n  ')}
  <text x="${pad}" y="${Math.round(below)}" font-family="monospace" font-size="${small}" fill="${ink}">${esc(ellipsize(job.product.pimId, fits(small)))}</text>
  <text x="${pad}" y="${Math.round(below + small * 1.6)}" font-family="sans-serif" font-size="${small}" fill="${muted}">${esc(ellipsize(job.product.category, fits(small)))}</text>
</svg>`;
}

/** Breaks `text` at spaces into at most `lines` lines of `max` characters; the last one is clipped with "…". */
export function wrap(text: string, max: number, lines: number): string[] {
  const out: string[] = [];
  let rest = text.trim();
  while (rest && out.length < lines - 1 && rest.length > max) {
    const cut = rest.lastIndexOf(' ', max);
    const at = cut > max / 3 ? cut : max;
    out.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  if (rest) out.push(ellipsize(rest, max));
  return out;
}

/** A stable colour per material name; a few common names get their natural colour. */
function swatchColour(material: string): string {
  const m = material.toLowerCase();
  if (m.includes('black')) return '#202020';
  if (m.includes('steel') || m.includes('chrome')) return '#a9b0b8';
  if (m.includes('brass') || m.includes('gold')) return '#c9a23f';
  let hash = 0;
  for (const c of m) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360}, 45%, 55%)`;
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
