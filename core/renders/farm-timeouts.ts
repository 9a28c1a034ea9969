import type { Task } from 'graphile-worker';
import { sql } from 'kysely';
import type { EntityManager, Orm } from '../db/orm.ts';
import { db } from '../db/kysely.ts';
import { pgArray } from '../db/sql.ts';
import type { Logger } from '../logger.ts';
import { renderJobSpec } from '../pipeline/orders.ts';
import { clearFarmContact, noteFarmContact } from '../pipeline/render-job-states.ts';
import { deriveOrderStatus, failAttempt, type OrderStatusListener } from './jobs.ts';

/*
 * A farm that accepted a job and never reports back would leave it 'running' forever. The clock
 * starts when the farm accepts an attempt and restarts once on its `running` callback; when it
 * runs out, the attempt fails like any other (queued again while attempts remain, else failed).
 */

/** Name of the cron task that times out farm jobs. */
export const farmTimeoutTaskName = 'render_farm_timeouts';
/** Default of RENDER_FARM_TIMEOUT_MINUTES. */
export const defaultFarmTimeoutMinutes = 30;
/** Jobs one sweep transaction handles. */
const batchSize = 200;

/** The error a timed-out attempt records. */
function farmTimeoutReason(timeoutMinutes: number): string {
  return `render farm did not report back within ${timeoutMinutes} min`;
}

export { noteFarmContact };

/** What one sweep did. */
type FarmTimeoutResult = { retried: number; failed: number };

/**
 * Fails the attempts of up to `batchSize` running jobs whose farm has been silent for
 * `timeoutMinutes`, on `em` (the caller's transaction): each goes back to 'queued' with the
 * reason and onto the queue again while attempts remain, else it is failed; then the status of
 * each affected order is derived (told to `onStatus`). Jobs locked by a concurrent callback are skipped (next sweep).
 */
async function failFarmTimeouts(
  em: EntityManager,
  opts: { timeoutMinutes: number; maxAttempts: number; now: Date; onStatus: OrderStatusListener },
): Promise<FarmTimeoutResult & { more: boolean }> {
  const cutoff = new Date(opts.now.getTime() - opts.timeoutMinutes * 60_000);
  const stale = await db(em)
    .selectFrom('render_job')
    .select(['id', 'tenant', 'order'])
    .where('status', '=', 'running')
    .where('farmContactAt', 'is not', null)
    .where('farmContactAt', '<', cutoff)
    .orderBy('farmContactAt')
    .limit(batchSize)
    .forUpdate()
    .skipLocked()
    .execute();
  const reason = farmTimeoutReason(opts.timeoutMinutes);
  const retry: string[] = [];
  let failed = 0;
  for (const job of stale) {
    const r = await failAttempt(em, job.tenant, job.id, reason, opts.maxAttempts, opts.now);
    if (r === 'retry') retry.push(job.id);
    else if (r === 'failed') failed++;
  }
  if (stale.length === 0) return { retried: 0, failed: 0, more: false };
  await clearFarmContact(
    em,
    stale.map((j) => j.id),
  );
  if (retry.length > 0) {
    await sql`select graphile_worker.add_jobs(array(
         select ${renderJobSpec}
         from render_job where id = any(${pgArray(retry)}::uuid[])))`.execute(db(em));
  }
  const orders = [...new Map(stale.map((j) => [j.order, j.tenant])).entries()].sort(([a], [b]) => a.localeCompare(b));
  for (const [orderId, tenantId] of orders) await deriveOrderStatus(em, tenantId, orderId, opts.now, opts.onStatus);
  return { retried: retry.length, failed, more: stale.length === batchSize };
}

/** The cron task: sweeps in batches, one transaction each, until no timed-out farm job is left. */
export function createFarmTimeoutTask(deps: {
  orm: Orm;
  log: Logger;
  timeoutMinutes: number;
  maxAttempts: number;
  now: () => Date;
  onStatus: OrderStatusListener;
}): Task {
  const log = deps.log.child({ component: 'renders' });
  return async () => {
    for (;;) {
      const r = await deps.orm.em.fork().transactional((tx) =>
        failFarmTimeouts(tx, {
          timeoutMinutes: deps.timeoutMinutes,
          maxAttempts: deps.maxAttempts,
          now: deps.now(),
          onStatus: deps.onStatus,
        }),
      );
      if (r.retried || r.failed)
        log.warn(
          { retried: r.retried, failed: r.failed, timeoutMinutes: deps.timeoutMinutes },
          'render farm jobs timed out',
        );
      if (!r.more) return;
    }
  };
}
