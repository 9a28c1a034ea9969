import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSlackAdapter } from '@chat-adapter/slack';
import { createMemoryState } from '@chat-adapter/state-memory';
import { Chat, ConsoleLogger, type StateAdapter } from 'chat';

/** A required setting of a bench target (its child process's environment). */
export const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A Chat SDK bot (chat + @chat-adapter/slack + memory state) on a plain Node HTTP server, as its
 * samples run it: `/render <text>` is acked at once and `answer(text)` is posted in the channel.
 * Slack settings come from SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_API_URL.
 */
export async function startChatSdkBot(userName: string, answer: (text: string) => Promise<string>) {
  const bot = new Chat({
    userName,
    adapters: {
      slack: createSlackAdapter({
        botToken: env('SLACK_BOT_TOKEN'),
        signingSecret: env('SLACK_SIGNING_SECRET'),
        apiUrl: env('SLACK_API_URL'),
        logger: new ConsoleLogger('error'),
      }),
    },
    // @chat-adapter/state-memory 4.41.0 pins chat 4.41.0 (its own copy); the types differ only by that copy.
    state: createMemoryState() as unknown as StateAdapter,
    logger: new ConsoleLogger('error'),
  });
  bot.onSlashCommand('/render', async (event) => {
    await event.channel.post(await answer(event.text));
  });
  await bot.initialize();
  const pending = new Set<Promise<unknown>>();
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      const method = req.method ?? 'POST';
      // A GET (the bench's readiness probe) carries no body: fetch's Request refuses one.
      const request = new Request(`http://127.0.0.1${req.url ?? '/'}`, {
        method,
        headers,
        ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
      });
      const response = await bot.webhooks.slack(request, {
        waitUntil: (task: Promise<unknown>) => {
          pending.add(task);
          void task
            .catch((err: unknown) => console.error('chat sdk task failed', err))
            .finally(() => pending.delete(task));
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
