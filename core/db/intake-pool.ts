import type pg from 'pg';
import { INTAKE_CONNECTIONS } from '../config.ts';
import { createPgPool } from './pool.ts';
import { countingClient } from './statements.ts';

/** The connections that store platform requests before they are acknowledged; nothing else uses them. */
export type IntakePool = pg.Pool;

/** How long storing a request waits for a connection: an acknowledgement has seconds, not more. */
const WAIT_MS = 1_500;

/**
 * A small pool of its own for storing platform requests before their acknowledgement
 * (core/queue/inbound-requests.ts): under load the main pool is busy with turns, and an
 * acknowledgement must not queue behind them.
 */
export function createIntakePool(url: string, onError?: (err: Error) => void): IntakePool {
  return createPgPool(url, INTAKE_CONNECTIONS, onError, {
    Client: countingClient('intake'),
    connectionTimeoutMillis: WAIT_MS,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
  });
}
