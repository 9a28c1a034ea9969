import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { makeTenant } from './support/fixtures.ts';
import { rows } from './support/rows.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('migrations', () => {
  it('create every table and the tenant-filtered views', async () => {
    const tables = await rows(
      db.orm.em.fork(),
      z.object({ table_name: z.string() }),
      `select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    const names = tables.map((r) => r.table_name);
    for (const t of [
      'tenant',
      'platform_link',
      'tenant_user',
      'link_code',
      'product',
      'material',
      'output_type',
      'render_order',
      'order_item',
      'render_job',
      'chat_session',
      'chat_message',
      'pending_action',
      'audit_log',
      'token_usage',
      'inbound_event',
      'v_products',
      'v_orders',
      'v_render_jobs',
      'v_materials',
      'v_output_types',
    ]) {
      expect(names).toContain(t);
    }
  });

  it('are idempotent: a second run applies nothing', async () => {
    expect(await db.orm.migrator.up()).toEqual([]);
  });

  it('move the leases held now out of chat_session into session_lease, and back down', async () => {
    const em = () => db.orm.em.fork();
    const { tenant } = await makeTenant(em(), 'acme');
    const leaseMigration = 'Migration20261206008000_session_lease';
    await db.orm.migrator.down({ migrations: [leaseMigration] });
    const sessions = await rows(
      em(),
      z.object({ id: z.string(), key: z.string() }),
      `insert into chat_session (tenant_id, platform, key, lease_owner, lease_expires_at) values
         (?, 'web', 'held', 'p1', now() + interval '1 minute'),
         (?, 'web', 'expired', 'p2', now() - interval '1 minute'),
         (?, 'web', 'free', null, null)
       returning id::text, key`,
      [tenant.id, tenant.id, tenant.id],
    );
    const held = sessions.find((s) => s.key === 'held')!.id;
    expect((await db.orm.migrator.up()).map((m) => m.name)).toEqual([leaseMigration]);
    expect(
      await rows(
        em(),
        z.object({ session_id: z.string(), owner: z.string() }),
        `select session_id::text, owner from session_lease`,
      ),
    ).toEqual([{ session_id: held, owner: 'p1' }]);
    expect(
      await rows(
        em(),
        z.object({ column_name: z.string() }),
        `select column_name from information_schema.columns where table_name = 'chat_session' and column_name like 'lease%'`,
      ),
    ).toEqual([]);
    await db.orm.migrator.down({ migrations: [leaseMigration] });
    expect(
      await rows(
        em(),
        z.object({ key: z.string(), lease_owner: z.string() }),
        `select key, lease_owner from chat_session where tenant_id = ? and lease_owner is not null and lease_expires_at > now()`,
        [tenant.id],
      ),
    ).toEqual([{ key: 'held', lease_owner: 'p1' }]);
    await db.orm.migrator.up();
  });
});
