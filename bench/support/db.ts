import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ensureDatabase, startEmbeddedCluster } from '../../core/db/embedded.ts';
import { createOrm, migrate } from '../../core/db/orm.ts';
import { setTenantAi, type AiSettings } from '../../core/llm/settings.ts';
import { linkWorkspace } from '../../core/tenancy/links.ts';
import { createTenant } from '../../core/tenancy/tenants.ts';
import { createApiToken } from '../../core/tenancy/tokens.ts';

/** A database created for one benchmark run; `drop()` removes it (and the embedded cluster it started). */
export type BenchDatabase = { url: string; drop(): Promise<void> };

/**
 * A fresh database `rb_bench_<hex>`: on the server of DATABASE_URL when set, else on an embedded
 * PostgreSQL started in a temporary directory (stopped and deleted by `drop()`).
 */
export async function createBenchDatabase(databaseUrl: string | undefined): Promise<BenchDatabase> {
  const name = `rb_bench_${randomBytes(5).toString('hex')}`;
  let adminUrl: string;
  let stop = async () => {};
  if (databaseUrl) {
    adminUrl = databaseUrl;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'renderbot-bench-pg-'));
    chmodSync(dir, 0o755); // as root, PostgreSQL runs as the postgres user, which must reach dir/pg
    const cluster = await startEmbeddedCluster(join(dir, 'pg'));
    adminUrl = cluster.url('postgres');
    stop = async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  await ensureDatabase(adminUrl, name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
      await stop();
    },
  };
}

/**
 * Migrates a bench database and creates the tenant `bench` whose model is `llm` and whose Slack
 * workspace / Teams organisation are `links`; returns its id and an operator's web API token.
 */
export async function setUpBenchTenant(
  url: string,
  secretsKey: Buffer,
  llm: { settings: AiSettings; apiKey: string },
  links: ['slack' | 'teams', string][],
): Promise<{ tenantId: string; token: string }> {
  const orm = await createOrm(url, { poolMax: 2 });
  try {
    await migrate(orm);
    const em = orm.em.fork();
    const tenant = await createTenant(em, { slug: 'bench', name: 'Bench GmbH' });
    for (const [platform, externalId] of links) await linkWorkspace(em, tenant.id, platform, externalId);
    await setTenantAi(em, secretsKey, tenant.id, llm.settings, llm.apiKey);
    const { token } = await createApiToken(em, { tenantId: tenant.id, userId: 'bench', role: 'operator' });
    return { tenantId: tenant.id, token };
  } finally {
    await orm.close();
  }
}

/**
 * Turns left over: waiting in session inboxes (not started), running (started, not done) and
 * failed (none: a turn that fails is answered with an apology and marked done).
 */
export async function queueState(url: string): Promise<{ waiting: number; running: number; failed: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ waiting: number; running: number; failed: number }>(`
      select count(*) filter (where started_at is null)::int as waiting,
             count(*) filter (where started_at is not null)::int as running,
             0 as failed
        from turn_inbox where done_at is null`);
    return rows[0]!;
  } finally {
    await c.end();
  }
}
