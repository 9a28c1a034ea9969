import { z } from 'zod';
import { row } from '../db/sql.ts';
import type { EntityManager } from '../db/orm.ts';

/** The database gauges of /metrics: totals only, no tenant, user or session. */
const queueGaugesRow = z.object({ queued: z.number(), running: z.number(), jobs: z.number(), actions: z.number() });
export type QueueGauges = z.infer<typeof queueGaugesRow>;

/** Waiting and running inbox items, waiting queue jobs and open confirmations, in one round trip. */
export async function readQueueGauges(em: EntityManager): Promise<QueueGauges | undefined> {
  return row(
    em,
    queueGaugesRow,
    `select (select count(*)::int from turn_inbox where done_at is null and started_at is null) as queued,
            (select count(*)::int from turn_inbox where done_at is null and started_at is not null) as running,
            (select count(*)::int from graphile_worker.jobs where locked_at is null) as jobs,
            (select count(*)::int from pending_action where status = 'pending') as actions`,
  );
}
