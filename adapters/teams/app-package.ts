import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserInputError } from '../../core/errors.ts';
import { encodePng, writeZip, type Rgba } from './zip.ts';

/** The committed manifest template (schema version supported by @microsoft/app-manifest). */
export const MANIFEST_TEMPLATE_PATH = fileURLToPath(new URL('../../manifest/teams/manifest.json', import.meta.url));
/** Icon sizes Teams requires. */
export const COLOR_ICON_SIZE = 192;
export const OUTLINE_ICON_SIZE = 32;

const ACCENT: Rgba = [0x3a, 0x5b, 0xa0, 0xff];
const WHITE: Rgba = [0xff, 0xff, 0xff, 0xff];
const CLEAR: Rgba = [0, 0, 0, 0];

/** The mark: a ring with a dot (a lens / render target), scaled to `size`. */
function mark(size: number, x: number, y: number): 'ring' | 'dot' | undefined {
  const c = (size - 1) / 2;
  const r = Math.hypot(x - c, y - c) / size;
  if (r >= 0.26 && r <= 0.36) return 'ring';
  if (r <= 0.12) return 'dot';
  return undefined;
}

/** 192×192 full-colour icon: white mark on the accent colour. */
export function colorIcon(): Buffer {
  return encodePng(COLOR_ICON_SIZE, COLOR_ICON_SIZE, (x, y) => (mark(COLOR_ICON_SIZE, x, y) ? WHITE : ACCENT));
}

/** 32×32 outline icon: white mark on transparent background, as Teams requires. */
export function outlineIcon(): Buffer {
  return encodePng(OUTLINE_ICON_SIZE, OUTLINE_ICON_SIZE, (x, y) => (mark(OUTLINE_ICON_SIZE, x, y) ? WHITE : CLEAR));
}

export type ManifestOptions = { appId: string; host?: string; version?: string };

const optionsSchema = z.object({
  appId: z.uuid({ message: '--app-id must be the bot\'s Microsoft App ID (a GUID)' }),
  host: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, '--host must be a domain name like renderbot.example.com (no scheme, no path)').optional(),
  version: z.string().regex(/^\d+\.\d+\.\d+$/).optional(),
});

/** The manifest for a bot registration: the template with app id, bot id and (optionally) host filled in. */
export function buildManifest(opts: ManifestOptions): Record<string, unknown> {
  const parsed = optionsSchema.safeParse(opts);
  if (!parsed.success) throw new UserInputError('manifest_options', parsed.error.issues[0]?.message ?? 'invalid manifest options');
  const { appId, host, version } = parsed.data;
  const manifest = JSON.parse(readFileSync(MANIFEST_TEMPLATE_PATH, 'utf8')) as Record<string, unknown> & { bots: Record<string, unknown>[]; developer: Record<string, unknown> };
  manifest.id = appId.toLowerCase();
  manifest.bots = manifest.bots.map((b) => ({ ...b, botId: appId.toLowerCase() }));
  if (version) manifest.version = version;
  if (host) {
    manifest.validDomains = [host.toLowerCase()];
    manifest.developer = { ...manifest.developer, websiteUrl: `https://${host}`, privacyUrl: `https://${host}/privacy`, termsOfUseUrl: `https://${host}/terms` };
  }
  return manifest;
}

/** The sideloadable app package: manifest.json, color.png (192×192), outline.png (32×32). */
export function buildAppPackage(opts: ManifestOptions): Buffer {
  return writeZip([
    { name: 'manifest.json', data: Buffer.from(JSON.stringify(buildManifest(opts), null, 2) + '\n') },
    { name: 'color.png', data: colorIcon() },
    { name: 'outline.png', data: outlineIcon() },
  ]);
}
