/**
 * Child-process entry of `npm run bench:latency`: one bot under test (bench/support/child.ts).
 * `node latency-targets.ts renderbot|chatsdk|botbuilder|web`. The reference bots ask the scripted
 * model (LLM_BASE_URL, LLM_API_KEY, LLM_MODEL) with the `openai` client and post its answer, as
 * their platforms' samples would:
 * - chatsdk: chat + @chat-adapter/slack + memory state; `/render <text>` → model → post in the channel;
 * - botbuilder: CloudAdapter + ActivityHandler (no auth, as the Emulator); message → model → sendActivity;
 * - web: a plain HTTP endpoint `POST /api/chat/messages` → model → JSON answer.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSlackAdapter } from '@chat-adapter/slack';
import { createMemoryState } from '@chat-adapter/state-memory';
import { ActivityHandler, CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { Chat, ConsoleLogger, type StateAdapter } from 'chat';
import { OpenAI } from 'openai';
import restify from 'restify';
import { serveTarget } from './child.ts';
import { startRenderBot } from './renderbot.ts';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

/** One model call, as the reference bots make it. */
function createAsker() {
  const client = new OpenAI({ apiKey: env('LLM_API_KEY'), baseURL: env('LLM_BASE_URL') });
  const model = env('LLM_MODEL');
  return async (text: string) => {
    const res = await client.chat.completions.create({ model, messages: [{ role: 'user', content: text }] });
    return res.choices[0]?.message.content ?? '';
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The Chat SDK bot: acks the slash command at once, then asks the model and posts the answer. */
async function startChatSdk() {
  const ask = createAsker();
  const bot = new Chat({
    userName: 'llmbot',
    adapters: { slack: createSlackAdapter({ botToken: env('SLACK_BOT_TOKEN'), signingSecret: env('SLACK_SIGNING_SECRET'), apiUrl: env('SLACK_API_URL'), logger: new ConsoleLogger('error') }) },
    state: createMemoryState() as unknown as StateAdapter,
    logger: new ConsoleLogger('error'),
  });
  bot.onSlashCommand('/render', async (event) => {
    await event.channel.post(await ask(event.text));
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

/** The Bot Framework samples' shape: ActivityHandler whose message handler asks the model and replies in the turn. */
async function startBotbuilder() {
  const ask = createAsker();
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  adapter.onTurnError = async (_context, error) => { console.error('botbuilder turn failed', error); };
  const bot = new ActivityHandler();
  bot.onMessage(async (context, next) => {
    await context.sendActivity(await ask(context.activity.text ?? ''));
    await next();
  });
  const server = restify.createServer({ name: 'llmbot', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser());
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, (context) => bot.run(context));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A chat endpoint that asks the model for each message and answers with its text. */
async function startWeb() {
  const ask = createAsker();
  const server = createServer((req, res) => {
    void (async () => {
      const { message } = JSON.parse((await readBody(req)).toString('utf8')) as { message: string };
      const content = await ask(message);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ response: { content } }));
    })().catch((err: unknown) => {
      console.error('web request failed', err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const kind = process.argv[2];
const starters: Record<string, () => Promise<{ port: number; close(): Promise<void> }>> = { renderbot: startRenderBot, chatsdk: startChatSdk, botbuilder: startBotbuilder, web: startWeb };
const start = kind ? starters[kind] : undefined;
if (!start) throw new Error(`unknown target "${kind}" (renderbot | chatsdk | botbuilder | web)`);
await serveTarget(start);
