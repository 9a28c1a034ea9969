import { createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseAvailability } from '../core/availability.ts';
import { PlatformError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { pingOnFreshConnection } from '../core/db/fresh-ping.ts';
import { createTestDatabase, freePort, type TestDatabase } from './support/db.ts';

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
    let probed: Promise<unknown> | undefined;
    const availability = createDatabaseAvailability({
      ping: () => pool.query('select 1'),
      probe: () => (probed = pingOnFreshConnection(db.url)),
      log,
    });
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
      // The database itself answers on a connection of its own: busy, not gone.
      await probed;
      await tick();
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

  it('a pool that looks busy because its connections hang (a network cut) is an outage: the probe on a fresh connection times out', async () => {
    // A "database" that accepts connections and never answers, as one behind a cut network path does.
    const sockets = new Set<Socket>();
    const hung = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const address = hung.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const pool = new pg.Pool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 50 });
    const { log, lines } = capturingLogger();
    let probed: Promise<unknown> | undefined;
    const availability = createDatabaseAvailability({
      ping: () => pool.query('select 1'),
      probe: () => (probed = pingOnFreshConnection(`postgres://postgres@127.0.0.1:${address.port}/x`, 200)),
      log,
    });
    const held = await pool.connect();
    try {
      const waited = await pool.query('select 1').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(availability.report(waited)).toBe(true);
      await expect(probed).rejects.toThrow(/timeout/);
      await tick();
      expect(availability.up).toBe(false);
      expect(lines.map((l) => l.msg)).toContain(
        'database unreachable: requests are refused and turns wait until it is back',
      );
    } finally {
      held.release();
      availability.close();
      await pool.end();
      for (const s of sockets) s.destroy();
      await new Promise((r) => hung.close(r));
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

  it("an HTTP client's refused connection (a model endpoint, a Slack response_url) is not the database's", async () => {
    const { log, lines } = capturingLogger();
    const availability = createDatabaseAvailability({ ping: () => Promise.resolve(), log, retryMs: 10 });
    // What fetch throws when nothing listens: a TypeError whose cause is the socket's ECONNREFUSED.
    const refused = await fetch(`http://127.0.0.1:${await freePort()}/`).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TypeError);
    expect(availability.report(refused)).toBe(false);
    expect(availability.report(new Error('the model failed', { cause: refused }))).toBe(false);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    // A response body cut off (fetch), the Bot Connector's client (Azure's RestError), the model layer's own error.
    expect(availability.report(new TypeError('terminated', { cause: reset }))).toBe(false);
    expect(
      availability.report(
        Object.assign(new Error('connect ECONNREFUSED'), { name: 'RestError', code: 'ECONNREFUSED' }),
      ),
    ).toBe(false);
    expect(availability.report(new PlatformError('llm_broke_off', 'The AI service broke off.', { cause: reset }))).toBe(
      false,
    );
    // The database's own refusal still counts.
    expect(availability.report(reset)).toBe(true);
    expect(lines.map((l) => l.msg)).toEqual([
      'database unreachable: requests are refused and turns wait until it is back',
    ]);
    availability.close();
  });
});
