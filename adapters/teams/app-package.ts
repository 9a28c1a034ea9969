import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';
import sharp from 'sharp';
import { z } from 'zod';
import { UserInputError } from '../../core/errors.ts';

/** The committed manifest template (schema version supported by @microsoft/app-manifest). */
const MANIFEST_TEMPLATE_PATH = fileURLToPath(new URL('../../manifest/teams/manifest.json', import.meta.url));
/** Icon sizes Teams requires. */
const COLOR_ICON_SIZE = 192;
const OUTLINE_ICON_SIZE = 32;

const ACCENT = '#3a5ba0';

/** The mark as SVG: a ring with a dot (a lens / render target) in white, on `background` or transparent. */
function markSvg(size: number, background?: string): string {
  const c = size / 2;
  const bg = background ? `<rect width="${size}" height="${size}" fill="${background}"/>` : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">${bg}` +
    `<circle cx="${c}" cy="${c}" r="${0.31 * size}" fill="none" stroke="#fff" stroke-width="${0.1 * size}"/>` +
    `<circle cx="${c}" cy="${c}" r="${0.12 * size}" fill="#fff"/></svg>`
  );
}

/** 192×192 full-colour icon: white mark on the accent colour, opaque RGBA PNG. */
async function colorIcon(): Promise<Buffer> {
  return sharp(Buffer.from(markSvg(COLOR_ICON_SIZE, ACCENT)))
    .ensureAlpha()
    .png()
    .toBuffer();
}

/**
 * 32×32 outline icon as Teams requires it: white on a transparent background. Anti-aliased edges
 * vary only in alpha; every pixel's colour is white (fully transparent ones included).
 */
async function outlineIcon(): Promise<Buffer> {
  const { data, info } = await sharp(Buffer.from(markSvg(OUTLINE_ICON_SIZE)))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let i = 0; i < data.length; i += 4) data.fill(0xff, i, i + 3);
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
    .png()
    .toBuffer();
}

export type ManifestOptions = { appId: string; host?: string; version?: string };

const optionsSchema = z.object({
  appId: z.uuid({ message: "--app-id must be the bot's Microsoft App ID (a GUID)" }),
  host: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i,
      '--host must be a domain name like renderbot.example.com (no scheme, no path)',
    )
    .optional(),
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/)
    .optional(),
});

/** The manifest for a bot registration: the template with app id, bot id and (optionally) host filled in. */
export function buildManifest(opts: ManifestOptions): Record<string, unknown> {
  const parsed = optionsSchema.safeParse(opts);
  if (!parsed.success)
    throw new UserInputError('manifest_options', parsed.error.issues[0]?.message ?? 'invalid manifest options');
  const { appId, host, version } = parsed.data;
  const manifest = JSON.parse(readFileSync(MANIFEST_TEMPLATE_PATH, 'utf8')) as Record<string, unknown> & {
    bots: Record<string, unknown>[];
    developer: Record<string, unknown>;
  };
  manifest.id = appId.toLowerCase();
  manifest.bots = manifest.bots.map((b) => ({ ...b, botId: appId.toLowerCase() }));
  if (version) manifest.version = version;
  if (host) {
    manifest.validDomains = [host.toLowerCase()];
    manifest.developer = {
      ...manifest.developer,
      websiteUrl: `https://${host}`,
      privacyUrl: `https://${host}/privacy`,
      termsOfUseUrl: `https://${host}/terms`,
    };
  }
  return manifest;
}

/** The sideloadable app package (a ZIP): manifest.json, color.png (192×192), outline.png (32×32). */
export async function buildAppPackage(opts: ManifestOptions): Promise<Buffer> {
  const manifest = strToU8(JSON.stringify(buildManifest(opts), null, 2) + '\n');
  const [color, outline] = await Promise.all([colorIcon(), outlineIcon()]);
  return Buffer.from(zipSync({ 'manifest.json': manifest, 'color.png': color, 'outline.png': outline }, { level: 9 }));
}
