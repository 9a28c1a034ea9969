/**
 * Child-process entry of `npm run bench:renders`: one queue worker process composed exactly as
 * `renderbot worker` composes it (bot/app.ts), config from the environment.
 * `node render-workers.ts local|noop`: the tenant's own backend (the local tile renderer), or a
 * backend that finishes every job at once (the queue's own ceiling). Reports port 0 (no HTTP).
 */
import { createApp } from '../../bot/app.ts';
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import type { RenderBackend } from '../../core/renders/task.ts';
import { serveTarget } from './child.ts';

const noop: RenderBackend = async (job) => ({ kind: 'done', resultUrl: `/renders/${job.jobId}` });

const kind = process.argv[2];
if (kind !== 'local' && kind !== 'noop') throw new Error(`unknown backend "${kind}" (local | noop)`);
await serveTarget(async () => {
  const config = loadConfig();
  const app = await createApp(config, createLogger(config.LOG_LEVEL), {
    worker: true,
    ...(kind === 'noop' ? { renderBackends: () => noop } : {}),
  });
  await app.start();
  return { port: 0, close: () => app.close() };
});
