/**
 * Child-process entry of `npm run bench:latency`: one bot under test (bench/support/child.ts).
 * `node latency-targets.ts renderbot|chatsdk|botbuilder|web`. The reference bots ask the scripted
 * model (LLM_BASE_URL, LLM_API_KEY, LLM_MODEL) with the `openai` client and post its answer, as
 * their platforms' samples would:
 * - chatsdk: chat + @chat-adapter/slack + memory state; `/render <text>` → model → post in the channel;
 * - botbuilder: CloudAdapter + ActivityHandler (no auth, as the Emulator); message → model → sendActivity;
 * - web: a plain HTTP endpoint `POST /api/chat/messages` → model → JSON answer.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActivityHandler, CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { OpenAI } from 'openai';
import restify from 'restify';
import { env, readBody, startChatSdkBot } from './chat-sdk-bot.ts';
import { serveTarget } from './child.ts';
import { startRenderBot } from './renderbot.ts';

/** One model call, as the reference bots make it. */
function createAsker() {
  const client = new OpenAI({ apiKey: env('LLM_API_KEY'), baseURL: env('LLM_BASE_URL') });
  const model = env('LLM_MODEL');
  return async (text: string) => {
    const res = await client.chat.completions.create({ model, messages: [{ role: 'user', content: text }] });
    return res.choices[0]?.message.content ?? '';
  };
}

/** The Chat SDK bot: acks the slash command at once, then asks the model and posts the answer. */
const startChatSdk = () => startChatSdkBot('llmbot', createAsker());

/** The Bot Framework samples' shape: ActivityHandler whose message handler asks the model and replies in the turn. */
async function startBotbuilder() {
  const ask = createAsker();
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  adapter.onTurnError = async (_context, error) => {
    console.error('botbuilder turn failed', error);
  };
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
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
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
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const kind = process.argv[2];
const starters: Record<string, () => Promise<{ port: number; close(): Promise<void> }>> = {
  renderbot: startRenderBot,
  chatsdk: startChatSdk,
  botbuilder: startBotbuilder,
  web: startWeb,
};
const start = kind ? starters[kind] : undefined;
if (!start) throw new Error(`unknown target "${kind}" (renderbot | chatsdk | botbuilder | web)`);
await serveTarget(start);
