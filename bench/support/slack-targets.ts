/**
 * Child-process entry of `npm run bench:slack`: starts one Slack bot under test and reports its
 * port (bench/support/child.ts). `node slack-targets.ts renderbot|bolt|chatsdk`; Slack settings
 * come from SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and SLACK_API_URL.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App as BoltApp, HTTPReceiver, LogLevel } from '@slack/bolt';
import { createSlackAdapter } from '@chat-adapter/slack';
import { createMemoryState } from '@chat-adapter/state-memory';
import { Chat, ConsoleLogger, type StateAdapter } from 'chat';
import { serveTarget } from './child.ts';
import { startRenderBot } from './renderbot.ts';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

/** A bare Bolt app: HTTPReceiver on its own port; the handler only acks and says the text back. */
async function startBolt() {
  const receiver = new HTTPReceiver({ signingSecret: env('SLACK_SIGNING_SECRET'), endpoints: '/slack/events', processBeforeResponse: false, logLevel: LogLevel.ERROR });
  const app = new BoltApp({ receiver, token: env('SLACK_BOT_TOKEN'), logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: env('SLACK_API_URL') } });
  app.command('/render', async ({ command, ack, say }) => {
    await ack();
    await say(`echo ${command.text}`);
  });
  const server = await receiver.start({ port: 0, host: '127.0.0.1' });
  return { port: (server.address() as AddressInfo).port, close: () => receiver.stop() };
}

/** A Chat SDK bot (chat + @chat-adapter/slack + memory state) that echoes the slash command into the channel. */
async function startChatSdk() {
  const bot = new Chat({
    userName: 'echobot',
    adapters: { slack: createSlackAdapter({ botToken: env('SLACK_BOT_TOKEN'), signingSecret: env('SLACK_SIGNING_SECRET'), apiUrl: env('SLACK_API_URL'), logger: new ConsoleLogger('error') }) },
    // @chat-adapter/state-memory 4.41.0 pins chat 4.41.0 (its own copy); the types differ only by that copy.
    state: createMemoryState() as unknown as StateAdapter,
    logger: new ConsoleLogger('error'),
  });
  bot.onSlashCommand('/render', async (event) => {
    await event.channel.post(`echo ${event.text}`);
  });
  await bot.initialize();
  const pending = new Set<Promise<unknown>>();
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      const request = new Request(`http://127.0.0.1${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, body });
      const response = await bot.webhooks.slack(request, {
        waitUntil: (task: Promise<unknown>) => {
          pending.add(task);
          void task.catch((err: unknown) => console.error('chat sdk task failed', err)).finally(() => pending.delete(task));
        },
      });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    })().catch((err: unknown) => {
      console.error('chat sdk request failed', err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      await Promise.allSettled([...pending]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bot.shutdown();
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const kind = process.argv[2];
const starters: Record<string, () => Promise<{ port: number; close(): Promise<void> }>> = { renderbot: startRenderBot, bolt: startBolt, chatsdk: startChatSdk };
const start = kind ? starters[kind] : undefined;
if (!start) throw new Error(`unknown target "${kind}" (renderbot | bolt | chatsdk)`);
await serveTarget(start);
