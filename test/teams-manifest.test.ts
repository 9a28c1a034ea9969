import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAppPackage, buildManifest } from '../adapters/teams/app-package.ts';
import { readZip, pngSize } from '../adapters/teams/zip.ts';
import { buildProgram } from '../bot/cli.ts';

const require = createRequire(import.meta.url);
const { AppManifestUtils } = require('@microsoft/app-manifest') as {
  AppManifestUtils: { validateAgainstSchema(manifest: unknown, schema?: unknown): Promise<string[]> };
};
const template = JSON.parse(readFileSync('manifest/teams/manifest.json', 'utf8')) as { manifestVersion: string; $schema: string };
const officialSchema = () => JSON.parse(readFileSync(require.resolve(`@microsoft/app-manifest/build/json-schemas/teams/v${template.manifestVersion}/MicrosoftTeams.schema.json`), 'utf8')) as unknown;
const appId = '0d5c1f5e-7a5b-4d8e-9c2a-6f3e1b2a4c5d';

describe('Teams app package', () => {
  it('uses the newest manifest schema @microsoft/app-manifest ships', () => {
    const dir = require.resolve('@microsoft/app-manifest/package.json').replace(/package\.json$/, 'build/json-schemas/teams');
    const versions = execFileSync('ls', [dir]).toString().split('\n').filter((v) => /^v\d+\.\d+$/.test(v)).map((v) => v.slice(1));
    const newest = versions.sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])).at(-1);
    expect(template.manifestVersion).toBe(newest);
    expect(template.$schema).toContain(`/v${newest}/MicrosoftTeams.schema.json`);
  });

  it('the generated manifest validates against the official schema', async () => {
    for (const manifest of [buildManifest({ appId }), buildManifest({ appId, host: 'renderbot.contoso.com' })]) {
      expect(await AppManifestUtils.validateAgainstSchema(manifest, officialSchema())).toEqual([]);
    }
    const m = buildManifest({ appId, host: 'renderbot.contoso.com' }) as { id: string; bots: { botId: string; scopes: string[]; commandLists: { commands: { title: string }[] }[] }[]; validDomains: string[] };
    expect(m.id).toBe(appId);
    expect(m.bots[0]!.botId).toBe(appId);
    expect(m.bots[0]!.scopes.sort()).toEqual(['groupChat', 'personal', 'team']);
    expect(m.bots[0]!.commandLists[0]!.commands.map((c) => c.title)).toEqual(['help', 'orders', 'order', 'search', 'stats', 'usage', 'link', 'new', 'forget']);
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
      await buildProgram().parseAsync(['node', 'renderbot', 'manifest', 'teams', '--app-id', appId, '--out', out, '--host', 'renderbot.contoso.com']);
    } finally {
      process.stdout.write = write;
    }
    const zip = readFileSync(out);
    const entries = Object.fromEntries(readZip(zip).map((e) => [e.name, e.data]));
    expect(Object.keys(entries).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(pngSize(entries['color.png']!)).toEqual({ width: 192, height: 192 });
    expect(pngSize(entries['outline.png']!)).toEqual({ width: 32, height: 32 });
    const manifest = JSON.parse(entries['manifest.json']!.toString('utf8')) as { id: string; icons: { color: string; outline: string } };
    expect(manifest.id).toBe(appId);
    expect(manifest.icons).toEqual({ color: 'color.png', outline: 'outline.png' });
    expect(await AppManifestUtils.validateAgainstSchema(manifest, officialSchema())).toEqual([]);
    let listing = '';
    try { listing = execFileSync('unzip', ['-t', out]).toString(); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
    if (listing) expect(listing).toMatch(/No errors detected/);
  });

  it('the outline icon is white on transparent', async () => {
    const { inflateSync } = await import('node:zlib');
    const png = readZip(buildAppPackage({ appId })).find((e) => e.name === 'outline.png')!.data;
    const idat = png.subarray(png.indexOf('IDAT') + 4, png.indexOf('IEND') - 8);
    const raw = inflateSync(idat);
    const colours = new Set<string>();
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) colours.add(raw.subarray(y * 129 + 1 + x * 4, y * 129 + 5 + x * 4).toString('hex'));
    expect([...colours].sort()).toEqual(['00000000', 'ffffffff']);
  });
});
