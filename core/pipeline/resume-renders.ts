import type { EntityManager } from '../db/orm.ts';
import { enqueueWaitingJobs } from './orders.ts';

/**
 * Puts a tenant's renders that were written as running without ever running anywhere (seeded
 * data) back to queued and onto the queue, so they go on once a worker runs. Returns how many
 * queue jobs were added.
 */
export async function resumeSeededRenders(em: EntityManager, tenantId: string): Promise<number> {
  await em.execute(
    `update render_job set status = 'queued', started_at = null where tenant_id = ? and status = 'running'`,
    [tenantId],
  );
  return enqueueWaitingJobs(em, tenantId);
}
