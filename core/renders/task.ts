import type { Task } from 'graphile-worker';
import { z } from 'zod';
import { db } from '../db/kysely.ts';
import type { Orm } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import { getTenantRenderer, type TenantRenderer } from './backends.ts';
import { postJobToFarm } from './farm.ts';
import { foldTally } from '../pipeline/tally.ts';
import {
  createFarmTimeoutTask,
  defaultFarmTimeoutMinutes,
  farmTimeoutTaskName,
  noteFarmContact,
} from './farm-timeouts.ts';
import {
  claimJob,
  completeJob,
  deriveOrderStatus,
  failAttempt,
  loadJobSpec,
  type OrderStatusListener,
  type RenderJobSpec,
} from './jobs.ts';
import { renderLocalTile } from './local.ts';
import { siblingWillDerive } from './siblings.ts';

/** Name of the queue task that runs one render job. */
export const renderTaskName = 'render_job';
/** Attempts per render job unless RENDER_MAX_ATTEMPTS says otherwise. */
const defaultRenderMaxAttempts = 3;

/** Payload of a `render_job` queue job. */
const renderJobPayloadSchema = z.object({ renderJobId: z.uuid(), tenantId: z.uuid() });

/** What a backend did: the result is ready, or a farm accepted the job and will call back. */
type RenderOutcome = { kind: 'done'; resultUrl: string } | { kind: 'submitted' };
/** Renders one job; throws to fail the attempt. */
export type RenderBackend = (job: RenderJobSpec) => Promise<RenderOutcome>;

export type RenderTaskDeps = {
  orm: Orm;
  log: Logger;
  secretsKey: Buffer;
  dataDir: string;
  /** Base URL farms call back on (PUBLIC_URL); required for the http backend. */
  publicUrl?: string;
  /** Attempts per job including the first (RENDER_MAX_ATTEMPTS, default 3). */
  maxAttempts?: number;
  /** Minutes a farm has to report back on an accepted job (RENDER_FARM_TIMEOUT_MINUTES, default 30). */
  farmTimeoutMinutes?: number;
  now?: () => Date;
  /** Told of every order status the tasks derive, in the deriving transaction (core/notices schedules its notices). */
  onOrderStatus: OrderStatusListener;
  /** Replaces backend selection (tests inject failing or hanging backends). */
  backendFor?: (renderer: TenantRenderer) => RenderBackend;
};

/** The backend for a tenant's renderer: the built-in tile renderer, or the tenant's render farm. */
function defaultBackendFor(
  deps: Pick<RenderTaskDeps, 'dataDir' | 'publicUrl'>,
): (renderer: TenantRenderer) => RenderBackend {
  return (renderer) => {
    if (renderer.backend === 'local') {
      return async (job) => {
        await renderLocalTile(deps.dataDir, job);
        return { kind: 'done', resultUrl: `/renders/${job.jobId}` };
      };
    }
    return async (job) => {
      if (!deps.publicUrl) throw new Error('PUBLIC_URL is not set, so the render farm has no callback URL');
      await postJobToFarm(renderer, job, new URL('/render/callback', deps.publicUrl).toString());
      return { kind: 'submitted' };
    };
  };
}

/**
 * The queue tasks of the render pipeline: `render_job` and the `render_farm_timeouts` cron task
 * (core/renders/farm-timeouts.ts). One `render_job` attempt: claim (compare-and-set queued →
 * running; a job left running by a dead attempt is re-claimed only when the queue retries it),
 * render with the tenant's backend, then complete, or record the failure: back to queued and
 * rethrow while attempts remain (the queue retries with exponential backoff), else failed. The
 * order status is derived after every change, except a completion that leaves it to a sibling
 * job that will finish later (core/renders/siblings.ts). A job a farm accepted stays running
 * until the farm calls back or its time to report back runs out.
 */
/** The cron task that folds render job tallies (core/pipeline/tally.ts), every minute. */
export const foldTallyTaskName = 'fold_render_tally';

export function createRenderTasks(deps: RenderTaskDeps): Record<string, Task> {
  const log = deps.log.child({ component: 'renders' });
  const now = deps.now ?? (() => new Date());
  const maxAttempts = deps.maxAttempts ?? defaultRenderMaxAttempts;
  const backendFor = deps.backendFor ?? defaultBackendFor(deps);
  const task: Task = async (payload, helpers) => {
    const { renderJobId: jobId, tenantId } = renderJobPayloadSchema.parse(payload);
    const em = deps.orm.em.fork();
    const attempt = await em.transactional((tx) =>
      claimJob(tx, tenantId, jobId, { reclaimRunning: helpers.job.attempts > 1, now: now() }),
    );
    if (attempt === null) {
      log.debug({ jobId }, 'render job not claimable (finished, cancelled or running elsewhere)');
      return;
    }
    try {
      const [spec, renderer] = await Promise.all([
        loadJobSpec(em, tenantId, jobId),
        getTenantRenderer(em, deps.secretsKey, tenantId),
      ]);
      if (!spec) return;
      const outcome = await backendFor(renderer)(spec);
      if (outcome.kind === 'submitted') {
        await em.fork().transactional((tx) => noteFarmContact(tx, jobId, now()));
        return;
      }
      await em.fork().transactional(async (tx) => {
        await completeJob(tx, tenantId, jobId, outcome.resultUrl, now());
        if (!(await siblingWillDerive(tx, tenantId, spec.orderId, jobId)))
          await deriveOrderStatus(tx, tenantId, spec.orderId, now(), deps.onOrderStatus);
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const result = await em.fork().transactional(async (tx) => {
        const r = await failAttempt(tx, tenantId, jobId, reason, maxAttempts, now());
        const job = await db(tx).selectFrom('render_job').select('order').where('id', '=', jobId).executeTakeFirst();
        if (job) await deriveOrderStatus(tx, tenantId, job.order, now(), deps.onOrderStatus);
        return r;
      });
      log.warn({ jobId, attempt, maxAttempts, result, err: reason }, 'render attempt failed');
      if (result === 'retry') throw err;
    }
  };
  const farmTimeouts = createFarmTimeoutTask({
    orm: deps.orm,
    log: deps.log,
    maxAttempts,
    now,
    onStatus: deps.onOrderStatus,
    timeoutMinutes: deps.farmTimeoutMinutes ?? defaultFarmTimeoutMinutes,
  });
  const foldTallies: Task = async () => {
    const folded = await foldTally(deps.orm.em.fork());
    if (folded) log.debug({ folded }, 'folded render job tallies');
  };
  return { [renderTaskName]: task, [farmTimeoutTaskName]: farmTimeouts, [foldTallyTaskName]: foldTallies };
}
