import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { db } from '../core/db/kysely.ts';
import { pluginMemoised, resultMapBuilds } from '../core/db/kysely-plugin-memo.ts';
import { countRow, rows } from '../core/db/sql.ts';
import { createTenant, getTenantBySlug } from '../core/tenancy/tenants.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let h: TestDatabase;
beforeAll(async () => {
  h = await createTestDatabase();
});
afterAll(async () => {
  await h.drop();
});

describe('typed database access', () => {
  it('Kysely typed from the entities speaks camelCase both ways and returns JS values (Date, number for bigint, parsed JSON)', async () => {
    const em = h.orm.em.fork();
    const t = await createTenant(em, { slug: 'typed', name: 'Typed' });
    await db(em)
      .updateTable('tenant')
      .set({ monthlyTokenLimit: 5_000_000_000, aiThrottledUntil: new Date('2030-01-02T03:04:05Z') })
      .where('id', '=', t.id)
      .execute();
    const read = await getTenantBySlug(em, 'typed');
    expect(read.monthlyTokenLimit).toBe(5_000_000_000);
    expect(read.aiThrottledUntil).toEqual(new Date('2030-01-02T03:04:05Z'));
    expect(read.createdAt).toBeInstanceOf(Date);
    const [raw] = await rows(
      em,
      z.object({ monthly_token_limit: z.string().nullable(), ai_throttled_until: z.string().nullable() }),
      `select monthly_token_limit, ai_throttled_until from tenant where id = ?`,
      [t.id],
    );
    expect(raw).toMatchObject({ monthly_token_limit: '5000000000' });
    const session = await db(em)
      .insertInto('chat_session')
      .values({ tenant: t.id, platform: 'web', key: 'k', context: { type: 'order', id: 'SA-2026-00001' } })
      .returning(['context', 'summaryUpto'])
      .executeTakeFirstOrThrow();
    expect(session).toEqual({ context: { type: 'order', id: 'SA-2026-00001' }, summaryUpto: 0 });
  });

  it('raw SQL rows are parsed, not asserted: counts come back as numbers, and a row of another shape is refused', async () => {
    const em = h.orm.em.fork();
    expect(await rows(em, countRow, `select count(*) as n from tenant`)).toEqual([{ n: 1 }]);
    await expect(rows(em, z.object({ id: z.number() }), `select id from tenant`)).rejects.toThrow(/expected number/);
  });
  it("the plugin's result maps are built once per query shape, and results are mapped the same every time", async () => {
    // False means a MikroORM upgrade renamed what core/db/kysely-plugin-memo.ts wraps: every query pays again.
    expect(pluginMemoised).toBe(true);
    const em = h.orm.em.fork();
    const t = await createTenant(em, { slug: 'shapes', name: 'Shapes' });
    await db(em).updateTable('tenant').set({ monthlyTokenLimit: 7_000_000_000 }).where('id', '=', t.id).execute();
    const read = () =>
      db(em)
        .selectFrom('chat_session as s')
        .innerJoin('tenant as t', 't.id', 's.tenant')
        .select(['s.key', 's.summaryUpto', 't.monthlyTokenLimit', 't.createdAt'])
        .where('t.id', '=', t.id)
        .execute();
    await db(em).insertInto('chat_session').values({ tenant: t.id, platform: 'web', key: 'shape-1' }).execute();
    const first = await read();
    const built = resultMapBuilds();
    expect(first).toEqual([
      { key: 'shape-1', summaryUpto: 0, monthlyTokenLimit: 7_000_000_000, createdAt: expect.any(Date) },
    ]);
    expect(await read()).toEqual(first);
    // The second query of the same shape used the map the first one built (this is the plugin's own instance).
    expect(resultMapBuilds()).toBe(built);
    expect(built).toBeGreaterThan(0);
  });
  it('rows of one shape map the same however many columns are null, renamed or foreign keys', async () => {
    const em = h.orm.em.fork();
    const t = await createTenant(em, { slug: 'columns', name: 'Columns' });
    await db(em)
      .insertInto('chat_session')
      .values([
        {
          tenant: t.id,
          platform: 'web',
          key: 'cols-1',
          context: { type: 'order', id: 'SA-2026-00160' },
          summaryUpto: 3,
        },
        { tenant: t.id, platform: 'slack', key: 'cols-2', archivedAt: new Date('2026-01-02T03:04:05Z') },
      ])
      .execute();
    const read = await db(em)
      .selectFrom('chat_session as s')
      .innerJoin('tenant as t', 't.id', 's.tenant')
      .select(['s.tenant', 's.key', 's.context', 's.summaryUpto', 's.archivedAt', 's.createdAt', 't.slug'])
      .select((e) => e.lit(1).as('one'))
      .where('s.tenant', '=', t.id)
      .orderBy('s.key')
      .execute();
    expect(read).toEqual([
      {
        tenant: t.id,
        key: 'cols-1',
        context: { type: 'order', id: 'SA-2026-00160' },
        summaryUpto: 3,
        archivedAt: null,
        createdAt: expect.any(Date),
        slug: 'columns',
        one: 1,
      },
      {
        tenant: t.id,
        key: 'cols-2',
        context: {},
        summaryUpto: 0,
        archivedAt: new Date('2026-01-02T03:04:05Z'),
        createdAt: expect.any(Date),
        slug: 'columns',
        one: 1,
      },
    ]);
  });
});
