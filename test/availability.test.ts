import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseAvailability } from '../core/availability.ts';
import { createLogger } from '../core/logger.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** A logger whose JSON lines land in `lines`. */
function capturingLogger() {
  const lines: { level: number; msg: string; waited?: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger('info', sink), lines };
}

describe('database availability', () => {
  it('a saturated pool is not an outage: the database stays up, and a burst of waits is one warning', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 50 });
    const { log, lines } = capturingLogger();
    const availability = createDatabaseAvailability({ ping: () => pool.query('select 1'), log });
    const held = await pool.connect();
    try {
      const waits = await Promise.all(
        [1, 2, 3].map(() =>
          pool.query('select 1').then(
            () => undefined,
            (err: unknown) => err,
          ),
        ),
      );
      expect(waits.map((e) => (e instanceof Error ? e.message : e))).toEqual(
        Array(3).fill('timeout exceeded when trying to connect'),
      );
      expect(waits.map((e) => availability.report(e))).toEqual([true, true, true]);
      expect(availability.up).toBe(true);
      expect(lines.map((l) => l.msg)).toEqual([
        'database pool busy: statements waited longer than their limit for a connection',
      ]);
    } finally {
      held.release();
      availability.close();
      await pool.end();
    }
  });

  it('a refused connection is an outage: down until the database answers again', async () => {
    const { log, lines } = capturingLogger();
    let refuse = true;
    const availability = createDatabaseAvailability({
      ping: () =>
        refuse
          ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
          : Promise.resolve(),
      log,
      retryMs: 10,
    });
    expect(availability.report(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(availability.up).toBe(false);
    refuse = false;
    await availability.whenUp();
    expect(availability.up).toBe(true);
    expect(lines.map((l) => l.msg)).toEqual([
      'database unreachable: requests are refused and turns wait until it is back',
      'database is back',
    ]);
    availability.close();
  });
});
