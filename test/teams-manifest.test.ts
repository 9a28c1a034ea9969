import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { buildAppPackage, buildManifest } from '../adapters/teams/app-package.ts';
import { buildProgram } from '../bot/cli.ts';

const require = createRequire(import.meta.url);
const { AppManifestUtils } = require('@microsoft/app-manifest') as {
  AppManifestUtils: { validateAgainstSchema(manifest: unknown, schema?: unknown): Promise<string[]> };
};
const template = JSON.parse(readFileSync('manifest/teams/manifest.json', 'utf8')) as {
  manifestVersion: string;
  $schema: string;
};
const officialSchema = () =>
  JSON.parse(
    readFileSync(
      require.resolve(
        `@microsoft/app-manifest/build/json-schemas/teams/v${template.manifestVersion}/MicrosoftTeams.schema.json`,
      ),
      'utf8',
    ),
  ) as unknown;
const appId = '0d5c1f5e-7a5b-4d8e-9c2a-6f3e1b2a4c5d';

/** An icon's size, channel count and its distinct RGBA pixels (hex), decoded by sharp. */
async function pixels(
  png: Uint8Array,
): Promise<{ width: number; height: number; channels: number; rgba: Set<string> }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const rgba = new Set<string>();
  for (let i = 0; i < data.length; i += info.channels) rgba.add(data.subarray(i, i + 4).toString('hex'));
  return { width: info.width, height: info.height, channels: info.channels, rgba };
}

describe('Teams app package', () => {
  it('uses the newest manifest schema @microsoft/app-manifest ships', () => {
    const dir = require
      .resolve('@microsoft/app-manifest/package.json')
      .replace(/package\.json$/, 'build/json-schemas/teams');
    const versions = execFileSync('ls', [dir])
      .toString()
      .split('\n')
      .filter((v) => /^v\d+\.\d+$/.test(v))
      .map((v) => v.slice(1));
    const newest = versions.sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])).at(-1);
    expect(template.manifestVersion).toBe(newest);
    expect(template.$schema).toContain(`/v${newest}/MicrosoftTeams.schema.json`);
  });

  it('the generated manifest validates against the official schema', async () => {
    for (const manifest of [buildManifest({ appId }), buildManifest({ appId, host: 'renderbot.contoso.com' })]) {
      expect(await AppManifestUtils.validateAgainstSchema(manifest, officialSchema())).toEqual([]);
    }
    const m = buildManifest({ appId, host: 'renderbot.contoso.com' }) as {
      id: string;
      bots: { botId: string; scopes: string[]; commandLists: { commands: { title: string }[] }[] }[];
      validDomains: string[];
    };
    expect(m.id).toBe(appId);
    expect(m.bots[0]!.botId).toBe(appId);
    expect(m.bots[0]!.scopes.sort()).toEqual(['groupChat', 'personal', 'team']);
    expect(m.bots[0]!.commandLists[0]!.commands.map((c) => c.title)).toEqual([
      'help',
      'orders',
      'order',
      'search',
      'stats',
      'usage',
      'link',
      'new',
      'forget',
    ]);
    expect(m.validDomains).toEqual(['renderbot.contoso.com']);
  });

  it('rejects a non-GUID app id and a host with a scheme', () => {
    expect(() => buildManifest({ appId: 'renderbot' })).toThrow(/GUID/);
    expect(() => buildManifest({ appId, host: 'https://renderbot.contoso.com' })).toThrow(/domain name/);
  });

  it('`renderbot manifest teams` writes a zip with manifest.json and both icons that unzips', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'renderbot-manifest-')), 'renderbot-teams.zip');
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      await buildProgram().parseAsync([
        'node',
        'renderbot',
        'manifest',
        'teams',
        '--app-id',
        appId,
        '--out',
        out,
        '--host',
        'renderbot.contoso.com',
      ]);
    } finally {
      process.stdout.write = write;
    }
    const entries = unzipSync(readFileSync(out));
    expect(Object.keys(entries).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(await sharp(entries['color.png']!).metadata()).toMatchObject({ format: 'png', width: 192, height: 192 });
    expect(await sharp(entries['outline.png']!).metadata()).toMatchObject({
      format: 'png',
      width: 32,
      height: 32,
      hasAlpha: true,
    });
    const manifest = JSON.parse(strFromU8(entries['manifest.json']!)) as {
      id: string;
      icons: { color: string; outline: string };
    };
    expect(manifest.id).toBe(appId);
    expect(manifest.icons).toEqual({ color: 'color.png', outline: 'outline.png' });
    expect(await AppManifestUtils.validateAgainstSchema(manifest, officialSchema())).toEqual([]);
    let listing = '';
    try {
      listing = execFileSync('unzip', ['-t', out]).toString();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (listing) expect(listing).toMatch(/No errors detected/);
  });

  it('the colour icon is opaque; the outline icon is white on transparent (edges vary only in alpha)', async () => {
    const entries = unzipSync(await buildAppPackage({ appId }));
    const color = await pixels(entries['color.png']!);
    expect(color).toMatchObject({ width: 192, height: 192, channels: 4 });
    expect([...color.rgba].every((p) => p.endsWith('ff'))).toBe(true);
    expect(color.rgba).toContain('3a5ba0ff');
    expect(color.rgba).toContain('ffffffff');

    const outline = await pixels(entries['outline.png']!);
    expect(outline).toMatchObject({ width: 32, height: 32, channels: 4 });
    expect([...outline.rgba].filter((p) => !p.startsWith('ffffff'))).toEqual([]);
    expect(outline.rgba).toContain('ffffff00');
    expect(outline.rgba).toContain('ffffffff');
  });
});
