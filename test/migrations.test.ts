import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('migrations', () => {
  it('create every table and the tenant-filtered views', async () => {
    const rows = await db.orm.em
      .fork()
      .execute<{ table_name: string }[]>(
        `select table_name from information_schema.tables where table_schema = 'public' order by 1`,
      );
    const names = rows.map((r) => r.table_name);
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
});
