import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { allEntities, ChatSession, Tenant, TurnInbox } from '../core/db/entities/index.ts';
import { ormOptions } from '../core/db/orm.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** What MikroORM would change to make the migrated database match `entities`. */
async function schemaDiff(entities: readonly unknown[]): Promise<string> {
  const orm = await MikroORM.init({ ...ormOptions(db.url, { poolMax: 1 }), entities: entities as never });
  try {
    return await orm.schema.getUpdateSchemaSQL({ wrap: false });
  } finally {
    await orm.close();
  }
}

/** TurnInbox as the migrations create it, with `change` applied: no other entity refers to it. */
function turnInbox(change: Record<string, unknown> = {}, indexes?: unknown[]) {
  const properties: Record<string, unknown> = {
    id: p.bigint('number').primary().autoincrement(),
    tenant: p.manyToOne(Tenant).deleteRule('cascade'),
    session: p.manyToOne(ChatSession).deleteRule('cascade'),
    task: p.text(),
    payload: p.json<unknown>(),
    createdAt: p.datetime().defaultRaw('now()'),
    attempts: p.integer().default(0),
    startedAt: p.datetime().nullable(),
    startedBy: p.text().nullable(),
    progress: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    doneAt: p.datetime().nullable(),
    result: p.json<unknown>().nullable(),
    stopRequestedAt: p.datetime().nullable(),
    stoppedBy: p.text().nullable(),
  };
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) delete properties[key];
    else properties[key] = value;
  }
  return defineEntity({
    name: 'TurnInbox',
    tableName: 'turn_inbox',
    properties,
    indexes: (indexes ?? [
      { name: 'turn_inbox_pending_idx', properties: ['session', 'id'], where: 'done_at is null' },
      { name: 'turn_inbox_done_idx', properties: ['doneAt'], where: 'done_at is not null' },
    ]) as never,
  });
}

const withTurnInbox = (entity: unknown) => allEntities.map((e) => (e === TurnInbox ? entity : e));

describe('entities and migrations', () => {
  it('agree: MikroORM finds nothing to change after the migrations ran', async () => {
    expect(await schemaDiff(allEntities)).toBe('');
  });

  it('the drift check sees nothing wrong in a copy of an entity as the migrations create it', async () => {
    expect(await schemaDiff(withTurnInbox(turnInbox()))).toBe('');
  });

  it.each([
    ['a column the entity lacks', turnInbox({ result: undefined }), 'alter table "turn_inbox" drop column "result"'],
    [
      'a column the migrations lack',
      turnInbox({ owner: p.text().nullable() }),
      'alter table "turn_inbox" add "owner" text null',
    ],
    [
      'a check constraint',
      turnInbox({ task: p.text().check(`task <> ''`) }),
      'add constraint "turn_inbox_task_check" check',
    ],
    [
      'nullability',
      turnInbox({ task: p.text().nullable() }),
      'alter table "turn_inbox" alter column "task" drop not null',
    ],
    ['a type', turnInbox({ task: p.string() }), 'alter table "turn_inbox" alter column "task" type varchar(255)'],
    [
      'a default',
      turnInbox({ attempts: p.integer().default(1) }),
      'alter table "turn_inbox" alter column "attempts" set default 1',
    ],
    [
      'a foreign key rule',
      turnInbox({ session: p.manyToOne(ChatSession) }),
      'drop constraint "turn_inbox_session_id_fkey"',
    ],
    [
      'a partial index predicate',
      turnInbox({}, [
        { name: 'turn_inbox_pending_idx', properties: ['session', 'id'], where: 'done_at is null' },
        { name: 'turn_inbox_done_idx', properties: ['doneAt'], where: 'done_at is null' },
      ]),
      'create index "turn_inbox_done_idx" on "turn_inbox" ("done_at") where done_at is null',
    ],
    [
      'a missing index',
      turnInbox({}, [{ name: 'turn_inbox_pending_idx', properties: ['session', 'id'], where: 'done_at is null' }]),
      'drop index "turn_inbox_done_idx"',
    ],
  ])('catch an entity that disagrees with the migrations on %s', async (_what, entity, expected) => {
    expect(await schemaDiff(withTurnInbox(entity))).toContain(expected);
  });

  it('catch a table the entities do not know', async () => {
    expect(await schemaDiff(allEntities.filter((e) => e !== TurnInbox))).toContain('drop table if exists "turn_inbox"');
  });
});
