import { createApp, type App } from '../../bot/app.ts';
import { startHttpServer } from '../../bot/server.ts';
import type { Channel } from '../../bot/channel.ts';
import { createTeamsChannel } from '../../bot/teams.ts';
import type { Config } from '../../core/config.ts';
import { setTenantAi } from '../../core/llm/settings.ts';
import { linkWorkspace } from '../../core/tenancy/links.ts';
import { startFakeConnector, type FakeConnector } from '../fakes/bot-connector.ts';
import { startFakeLlm, type FakeLlm } from '../fakes/llm-server.ts';
import { silentLog } from './core.ts';
import { createTestDatabase, testConfig, type TestDatabase } from './db.ts';
import { makeTenant, type TenantFixture } from './fixtures.ts';

/** The AAD tenant of the `acme` organisation the Teams tests speak for. */
export const TEAMS_AAD = '9f8e7d6c-5b4a-4392-8170-6e5d4c3b2a19';

/**
 * RenderBot's Teams channel on HTTP (Emulator mode, no Bot Framework tokens), the fake Bot
 * Connector it answers and the fake model, with tenant `acme` linked to TEAMS_AAD and its AI set.
 */
export type TeamsTestApp = {
  db: TestDatabase;
  app: App;
  config: Config;
  llm: FakeLlm;
  connector: FakeConnector;
  http: Awaited<ReturnType<typeof startHttpServer>>;
  /** The bot's base URL (`/api/messages` under it). */
  base: string;
  acme: TenantFixture;
  /** The Teams channel (its `stop` waits for work after answered requests, as `renderbot serve` stops it). */
  channel: Channel;
  close(): Promise<void>;
};

export async function startTeamsApp(env: Record<string, string> = {}): Promise<TeamsTestApp> {
  const db = await createTestDatabase();
  const llm = await startFakeLlm({ provider: 'azure' });
  const connector = await startFakeConnector();
  const config = testConfig(db, { TEAMS_EMULATOR: '1', ...env });
  const app = await createApp(config, silentLog, { worker: true });
  const channel = (await createTeamsChannel(app))!;
  app.deliverers.set('teams', channel.deliverer);
  app.streamers.set('teams', channel.streamer!);
  await app.start();
  const http = await startHttpServer(app, 0, channel.routes);
  const em = app.db.orm.em.fork();
  const acme = await makeTenant(em, 'acme');
  await linkWorkspace(em, acme.tenant.id, 'teams', TEAMS_AAD);
  await setTenantAi(em, config.secretsKey, acme.tenant.id, llm.settings, llm.apiKey);
  return {
    db,
    app,
    config,
    llm,
    connector,
    http,
    base: `http://127.0.0.1:${http.port}`,
    acme,
    channel,
    async close() {
      await http.close();
      await channel.stop();
      await app.close();
      await connector.close();
      await llm.close();
      await db.drop();
    },
  };
}
