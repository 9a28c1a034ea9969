import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { buildAppPackage } from '../adapters/teams/app-package.ts';

/** `renderbot manifest teams --app-id <guid> --out renderbot-teams.zip [--host <domain>]`: builds the Teams app package. */
export function manifestCommand(): Command {
  const manifest = new Command('manifest').description('build platform app packages');
  manifest.command('teams').description('build the Teams app package (manifest.json + icons) to sideload or upload')
    .requiredOption('--app-id <guid>', 'the bot\'s Microsoft App ID (Azure Bot → Configuration)')
    .option('--out <file>', 'zip file to write', 'renderbot-teams.zip')
    .option('--host <domain>', 'public host of the bot (validDomains, developer URLs), e.g. renderbot.example.com')
    .action((o: { appId: string; out: string; host?: string }) => {
      const zip = buildAppPackage({ appId: o.appId, ...(o.host ? { host: o.host } : {}) });
      const out = resolve(o.out);
      writeFileSync(out, zip);
      process.stdout.write(`Wrote ${out} (${zip.length} bytes). Upload it in Teams: Apps → Manage your apps → Upload an app.\n`);
    });
  return manifest;
}
