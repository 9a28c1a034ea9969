/**
 * Child-process entry of `npm run bench:teams`: starts one Bot Framework bot under test in
 * Emulator mode (TEAMS_EMULATOR=1, no MicrosoftAppId, no auth; loopback only) and reports its port (bench/support/child.ts).
 * `node teams-targets.ts renderbot|echo`.
 */
import type { AddressInfo } from 'node:net';
import { ActivityHandler, CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import restify from 'restify';
import { serveTarget } from './child.ts';
import { startRenderBot } from './renderbot.ts';

/** The Bot Framework samples' echo bot: ActivityHandler replying synchronously with context.sendActivity. */
class EchoBot extends ActivityHandler {
  constructor() {
    super();
    this.onMessage(async (context, next) => {
      await context.sendActivity(`echo: ${context.activity.text ?? ''}`);
      await next();
    });
  }
}

/** CloudAdapter + EchoBot on restify, as in the samples (POST /api/messages). */
async function startEcho() {
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  adapter.onTurnError = async (_context, error) => {
    console.error('echo bot turn failed', error);
  };
  const bot = new EchoBot();
  const server = restify.createServer({ name: 'echo', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser());
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, (context) => bot.run(context));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const kind = process.argv[2];
const starters: Record<string, () => Promise<{ port: number; close(): Promise<void> }>> = {
  renderbot: startRenderBot,
  echo: startEcho,
};
const start = kind ? starters[kind] : undefined;
if (!start) throw new Error(`unknown target "${kind}" (renderbot | echo)`);
await serveTarget(start);
