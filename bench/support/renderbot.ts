import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createApp } from '../../bot/app.ts';
import { createChannels } from '../../bot/channels.ts';
import { startHttpServer } from '../../bot/server.ts';
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';

/**
 * RenderBot exactly as `renderbot serve` composes it (bot/cli.ts), on a free port; config from
 * the environment. With BENCH_WORKER_PROCESSES=n it is `renderbot serve --no-worker` plus n
 * `renderbot worker` processes against the same database.
 */
export async function startRenderBot(): Promise<{ port: number; close(): Promise<void> }> {
  const config = loadConfig();
  const workerProcesses = Number(process.env.BENCH_WORKER_PROCESSES ?? '0');
  const app = await createApp(config, createLogger(config.LOG_LEVEL), { worker: workerProcesses === 0 });
  const channels = await createChannels(app);
  await app.start();
  const http = await startHttpServer(
    app,
    0,
    channels.flatMap((c) => c.routes),
  );
  for (const c of channels) await c.start?.();
  const workers: ChildProcess[] = Array.from({ length: workerProcesses }, () =>
    spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bot', 'cli.ts'), 'worker'], {
      env: process.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  );
  return {
    port: http.port,
    async close() {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise((r) => {
              w.once('exit', r);
              w.kill('SIGTERM');
            }),
        ),
      );
      for (const c of channels) await c.stop();
      await http.close();
      await app.close();
    },
  };
}
