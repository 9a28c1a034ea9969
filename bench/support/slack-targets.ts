/**
 * Child-process entry of `npm run bench:slack`: starts one Slack bot under test and reports its
 * port (bench/support/child.ts). `node slack-targets.ts renderbot|bolt|boltstore|chatsdk`; Slack settings
 * come from SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and SLACK_API_URL.
 */
import type { AddressInfo } from 'node:net';
import { App as BoltApp, HTTPReceiver, LogLevel } from '@slack/bolt';
import pg from 'pg';
import { env, startChatSdkBot } from './chat-sdk-bot.ts';
import { serveTarget } from './child.ts';
import { startRenderBot } from './renderbot.ts';

/**
 * A bare Bolt app: HTTPReceiver on its own port; the handler acks — after `beforeAck`, when given —
 * and says the text back.
 */
async function startBoltEcho(beforeAck?: (command: object) => Promise<unknown>) {
  const receiver = new HTTPReceiver({
    signingSecret: env('SLACK_SIGNING_SECRET'),
    endpoints: '/slack/events',
    processBeforeResponse: false,
    logLevel: LogLevel.ERROR,
  });
  const app = new BoltApp({
    receiver,
    token: env('SLACK_BOT_TOKEN'),
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: env('SLACK_API_URL') },
  });
  app.command('/render', async ({ command, ack, say }) => {
    await beforeAck?.(command);
    await ack();
    await say(`echo ${command.text}`);
  });
  const server = await receiver.start({ port: 0, host: '127.0.0.1' });
  return { port: (server.address() as AddressInfo).port, close: () => receiver.stop() };
}

const startBolt = () => startBoltEcho();

/**
 * A bare Bolt app that stores each command in PostgreSQL before it acks (one insert on a pool of
 * its own, as RenderBot's intake stores a request first): what "stored first" costs an ack, with
 * no bot around it. DATABASE_URL is the bench's database.
 */
async function startBoltStoringFirst() {
  const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 4 });
  await pool.query(
    `create table if not exists bench_bolt_request (id bigserial primary key, body jsonb not null, received_at timestamptz not null default now())`,
  );
  const bolt = await startBoltEcho((command) =>
    pool.query(`insert into bench_bolt_request (body) values ($1)`, [JSON.stringify(command)]),
  );
  return {
    port: bolt.port,
    close: async () => {
      await bolt.close();
      await pool.end();
    },
  };
}

/** A Chat SDK bot (chat + @chat-adapter/slack + memory state) that echoes the slash command into the channel. */
const startChatSdk = () => startChatSdkBot('echobot', async (text) => `echo ${text}`);

const kind = process.argv[2];
const starters: Record<string, () => Promise<{ port: number; close(): Promise<void> }>> = {
  renderbot: startRenderBot,
  bolt: startBolt,
  boltstore: startBoltStoringFirst,
  chatsdk: startChatSdk,
};
const start = kind ? starters[kind] : undefined;
if (!start) throw new Error(`unknown target "${kind}" (renderbot | bolt | boltstore | chatsdk)`);
await serveTarget(start);
