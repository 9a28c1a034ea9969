import { createApp } from '../../bot/app.ts';
import { createChannels } from '../../bot/channels.ts';
import { startHttpServer } from '../../bot/server.ts';
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';

/** RenderBot exactly as `renderbot serve` composes it (bot/cli.ts), on a free port; config from the environment. */
export async function startRenderBot(): Promise<{ port: number; close(): Promise<void> }> {
  const config = loadConfig();
  const app = await createApp(config, createLogger(config.LOG_LEVEL), { worker: true });
  const channels = await createChannels(app);
  const http = await startHttpServer(app, 0, channels.flatMap((c) => c.routes));
  for (const c of channels) await c.start?.();
  return {
    port: http.port,
    async close() {
      for (const c of channels) await c.stop();
      await http.close();
      await app.close();
    },
  };
}
