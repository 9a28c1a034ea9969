import pg from 'pg';
import client from 'prom-client';
import { processRegistry } from '../metrics.ts';

/** The pools whose statements are counted, one label each (a fixed set: never a tenant or a query). */
export type StatementPool = 'orm' | 'intake' | 'query' | 'queue';

/**
 * Statements sent to PostgreSQL by this process, per pool (BEGIN and COMMIT count: each is a
 * round trip). bench:slack divides its growth by the turns answered; test/turn-cost.test.ts pins
 * one Slack turn's share, so a turn's round trips cannot grow unnoticed.
 */
export const dbStatements = new client.Counter({
  name: 'renderbot_db_statements_total',
  help: 'Statements sent to PostgreSQL, by connection pool.',
  labelNames: ['pool'] as const,
  registers: [processRegistry],
});

/**
 * A node-postgres client class for a pool's `Client` option that counts every `query` call
 * under `pool`: node-postgres sends each call as one statement (simple or extended protocol).
 */
export function countingClient(pool: StatementPool): typeof pg.Client {
  const counter = dbStatements.labels(pool);
  return class CountingClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      const query = this.query;
      // Wraps the instance's method: query's overloads (callback, config, submittable) all pass through unchanged.
      this.query = function countedQuery(this: pg.Client, ...args: Parameters<typeof query>) {
        counter.inc();
        return Reflect.apply(query, this, args);
      } as typeof query;
    }
  };
}
