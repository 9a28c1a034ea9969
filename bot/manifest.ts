import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserInputError } from '../core/errors.ts';
import { Command } from 'commander';
import { buildAppPackage } from '../adapters/teams/app-package.ts';

/** The Slack app manifest template; its request URLs say https://YOUR_HOST. */
const slackManifestPath = fileURLToPath(new URL('../manifest/slack/manifest.yaml', import.meta.url));

/** The Slack app manifest with every request URL pointing at `baseUrl` (https, no path). */
function slackManifest(baseUrl: string): string {
  const url = z.url({ protocol: /^https$/ }).safeParse(baseUrl.replace(/\/+$/, ''));
  if (!url.success || new URL(url.data).pathname !== '/') {
    throw new UserInputError(
      'bad_flag',
      `--url must be the bot's public https base URL, like https://bot.example.com (got "${baseUrl}")`,
    );
  }
  return readFileSync(slackManifestPath, 'utf8')
    .split('\n')
    .filter((line) => !(line.trimStart().startsWith('#') && line.includes('YOUR_HOST')))
    .join('\n')
    .replaceAll('https://YOUR_HOST', url.data);
}

/**
 * `renderbot manifest slack --url <https://host>` prints the Slack app manifest;
 * `renderbot manifest teams --app-id <guid> --out renderbot-teams.zip [--host <domain>]` builds the Teams app package.
 */
export function manifestCommand(): Command {
  const manifest = new Command('manifest').description('build platform app packages');
  manifest
    .command('slack')
    .description(
      'print the Slack app manifest (YAML) with the request URLs filled in; paste it at api.slack.com/apps → Create New App → From a manifest',
    )
    .requiredOption('--url <https://host>', 'public https base URL of the bot')
    .action((o: { url: string }) => {
      process.stdout.write(slackManifest(o.url));
    });
  manifest
    .command('teams')
    .description('build the Teams app package (manifest.json + icons) to sideload or upload')
    .requiredOption('--app-id <guid>', "the bot's Microsoft App ID (Azure Bot → Configuration)")
    .option('--out <file>', 'zip file to write', 'renderbot-teams.zip')
    .option('--host <domain>', 'public host of the bot (validDomains, developer URLs), e.g. renderbot.example.com')
    .action(async (o: { appId: string; out: string; host?: string }) => {
      const zip = await buildAppPackage({ appId: o.appId, ...(o.host ? { host: o.host } : {}) });
      const out = resolve(o.out);
      writeFileSync(out, zip);
      process.stdout.write(
        `Wrote ${out} (${zip.length} bytes). Upload it in Teams: Apps → Manage your apps → Upload an app.\n`,
      );
    });
  return manifest;
}
