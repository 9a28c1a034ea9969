import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import proxyaddr from 'proxy-addr';
import { ConfigError } from './errors.ts';

const optionalString = z.string().trim().min(1).optional().catch(undefined);

/** Environment variables RenderBot reads (docs/design.md §9). The only place that touches process.env. */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3978),
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('./.data'),
  SECRETS_KEY: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty` (readable lines) or `json`; unset: pretty when stderr is a terminal, else JSON. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  PUBLIC_URL: z.string().url().optional(),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_CLIENT_ID: optionalString,
  SLACK_CLIENT_SECRET: optionalString,
  SLACK_STATE_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: z.string().url().optional(),
  MicrosoftAppId: optionalString,
  MicrosoftAppPassword: optionalString,
  MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).optional(),
  MicrosoftAppTenantId: optionalString,
  /** Bot Framework endpoints of another cloud (e.g. US Government), under botbuilder's own names; unset = public Azure. */
  ChannelService: optionalString,
  ToChannelFromBotLoginUrl: optionalString,
  ToChannelFromBotOAuthScope: optionalString,
  ToBotFromChannelTokenIssuer: optionalString,
  ToBotFromChannelOpenIdMetadataUrl: optionalString,
  ToBotFromEmulatorOpenIdMetadataUrl: optionalString,
  OAuthUrl: optionalString,
  /**
   * `1` runs Teams in Bot Framework Emulator mode when MicrosoftAppId is unset: no authentication,
   * so only loopback callers and loopback serviceUrls are accepted. Without it and without
   * MicrosoftAppId, Teams is off (/api/messages answers 404).
   */
  TEAMS_EMULATOR: z
    .enum(['0', '1', 'true', 'false'])
    .optional()
    .transform((v) => v === '1' || v === 'true'),
  /**
   * Conversations one process drives at once (docs/design.md §4). A turn waiting on the model holds no
   * database connection and no queue slot, only memory (its prompt window and one HTTP request).
   * Default 1000.
   */
  TURN_CONCURRENCY: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Seconds a session's lease lasts without renewal: a turn cut off by a crash is resumed elsewhere after this. Default 30. */
  TURN_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
  /** Render jobs (and other queue jobs) one process runs at once; default the number of CPUs. */
  RENDER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(availableParallelism()),
  /** Connections of this process's main database pool (agent turns, intake, tools). Default 10. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(10),
  /**
   * Seconds without a heartbeat after which a queue worker process counts as dead and the jobs it
   * held locked run again elsewhere (graphile-worker alone waits 4 hours). Keep it above the
   * longest database outage a worker should ride out: a worker cut off that long may see its
   * job run twice. Default 120.
   */
  WORKER_DEAD_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(4 * 3600)
    .default(120),
  /** Attempts per render job, the first included; failed attempts retry with exponential backoff. Default 3. */
  RENDER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  /**
   * Minutes a render farm has to report back on a job it accepted (a `running` callback restarts
   * the clock once); then the attempt fails with "render farm did not report back within … min"
   * and is posted again while attempts remain. Checked every minute. Default 30.
   */
  RENDER_FARM_TIMEOUT_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(30),
  /** Comma-separated origins of pages that embed the web chat panel (CORS). */
  WEB_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .url()
          .refine(
            (u) => new URL(u).origin === u,
            'list origins like https://app.example.com (no path, no trailing slash)',
          ),
      ),
    ),
  /**
   * Connections of the pool that model-written SQL (query_database) runs on; other requests never
   * wait for them (core/db/query-pool.ts). Default 4.
   */
  QUERY_POOL_SIZE: z.coerce.number().int().min(1).max(32).default(4),
  /**
   * Comma-separated proxies (addresses, CIDR subnets, or loopback / linklocal / uniquelocal) whose
   * X-Forwarded-For is believed for the client address (sign-in rate limit); unset: none.
   */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v) =>
      v
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine(
      (list) => !list || validProxyList(list),
      'list addresses, CIDR subnets or loopback, linklocal, uniquelocal',
    ),
  /** When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: optionalString,
  /** Days an uploaded file (core/files) is kept before the hourly cleanup deletes it. */
  FILE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Chat API requests per token and minute. */
  WEB_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(120),
});

type Env = z.infer<typeof envSchema>;

/** Typed, validated configuration. `secretsKey` is 32 raw bytes for AES-256-GCM. */
export type Config = Omit<Env, 'SECRETS_KEY'> & { dataDir: string; secretsKey: Buffer };

/** Parses the environment; throws a ConfigError naming the offending variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(
      'config_invalid',
      `Environment variable ${name} is invalid: ${issue?.message ?? 'unknown problem'}`,
    );
  }
  const { SECRETS_KEY, ...rest } = parsed.data;
  const dataDir = resolve(rest.DATA_DIR);
  return { ...rest, dataDir, secretsKey: resolveSecretsKey(SECRETS_KEY, dataDir) };
}

/**
 * SECRETS_KEY is 32 bytes as base64 or 64 hex chars. Without it, a key is generated once into
 * DATA_DIR/secrets.key (mode 0600), which suits the embedded single-machine default.
 */
function resolveSecretsKey(value: string | undefined, dataDir: string): Buffer {
  if (value) return decodeKey(value, 'SECRETS_KEY');
  const file = join(dataDir, 'secrets.key');
  if (existsSync(file)) return decodeKey(readFileSync(file, 'utf8').trim(), file);
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}

function decodeKey(value: string, source: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) {
    throw new ConfigError('config_invalid', `${source} must be 32 bytes, given as base64 or 64 hex characters`);
  }
  return key;
}

function validProxyList(list: string[]): boolean {
  try {
    proxyaddr.compile(list);
    return true;
  } catch {
    return false;
  }
}

/**
 * The most database connections one process holds whatever the number of turns in flight
 * (docs/design.md §4): the main pool, model-written SQL, the rate-limit counters, one LISTEN connection,
 * and — where queue workers run — RENDER_CONCURRENCY plus 4 for graphile-worker.
 */
export function connectionBudget(
  config: Pick<Config, 'DATABASE_POOL_SIZE' | 'QUERY_POOL_SIZE' | 'RENDER_CONCURRENCY'>,
  worker = true,
): number {
  return (
    config.DATABASE_POOL_SIZE +
    config.QUERY_POOL_SIZE +
    RATE_LIMIT_CONNECTIONS +
    INTAKE_CONNECTIONS +
    1 +
    (worker ? config.RENDER_CONCURRENCY + QUEUE_EXTRA_CONNECTIONS : 0)
  );
}

/** Connections of the rate-limit counters' pool (core/rate-limits.ts). */
export const RATE_LIMIT_CONNECTIONS = 2;
/** Connections that store platform requests before their acknowledgement (core/db/intake-pool.ts). */
export const INTAKE_CONNECTIONS = 2;
/** Connections graphile-worker needs beyond one per running job: LISTEN, fetching, completing, cron. */
export const QUEUE_EXTRA_CONNECTIONS = 4;
