import { z } from 'zod';
import type { EntityManager } from '../db/orm.ts';
import { db } from '../db/kysely.ts';
import { getTenantRenderer } from './backends.ts';
import type { RenderJobSpec } from './jobs.ts';
import { completeJob, deriveOrderStatus, failJob, type OrderStatusListener } from './jobs.ts';
import { markFarmRunning } from '../pipeline/render-job-states.ts';
import { signFarmBody, verifyFarmSignature } from './signing.ts';

/*
 * The render-farm wire contract (docs/render-farm.md): jobs are POSTed to the tenant's farm,
 * the farm reports back on POST /render/callback; both directions are HMAC-SHA256 signed with
 * the tenant's shared secret over "<timestamp>.<raw body>".
 */

/** Header carrying `sha256=<hex>`. */
export const signatureHeader = 'x-renderbot-signature';
/** Header carrying unix seconds; part of the signed text. */
export const timestampHeader = 'x-renderbot-timestamp';
/** How long a farm may take to accept a job. */
const farmRequestTimeoutMs = 15_000;

/** Posts `job` to the farm at `url`; resolves once the farm accepted it (2xx), else throws with the reason. */
export async function postJobToFarm(
  farm: { url: string; secret: string },
  job: RenderJobSpec,
  callbackUrl: string,
  now = new Date(),
): Promise<void> {
  const body = JSON.stringify({
    job_id: job.jobId,
    order_number: job.orderNumber,
    product: { pim_id: job.product.pimId, name: job.product.name, category: job.product.category },
    output_type: {
      name: job.outputType.name,
      format: job.outputType.format,
      width: job.outputType.width,
      height: job.outputType.height,
    },
    material: job.material,
    overrides: job.overrides,
    callback_url: callbackUrl,
  });
  const timestamp = String(Math.floor(now.getTime() / 1000));
  let res: Response;
  try {
    res = await fetch(farm.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [signatureHeader]: signFarmBody(farm.secret, timestamp, body),
        [timestampHeader]: timestamp,
      },
      body,
      signal: AbortSignal.timeout(farmRequestTimeoutMs),
    });
  } catch (err) {
    throw new Error(`render farm unreachable: ${(err as Error).message}`, { cause: err });
  }
  await res.body?.cancel();
  if (!res.ok) throw new Error(`render farm answered HTTP ${res.status}`);
}

const callbackSchema = z
  .object({
    job_id: z.uuid(),
    status: z.enum(['running', 'completed', 'failed']),
    result_url: z.url().optional(),
    error: z.string().max(2000).optional(),
  })
  .refine((c) => c.status !== 'completed' || c.result_url !== undefined, 'a completed callback needs result_url');

/** An HTTP answer for the callback route. */
export type CallbackAnswer = { status: number; body: { ok: boolean; duplicate?: boolean; error?: string } };

/**
 * Handles a farm callback: the job's tenant secret verifies the signature (stale timestamps
 * rejected), each (job, status) is applied once, and the order status is derived again.
 * Out-of-order callbacks never move a finished job back. Runs in one transaction on `em`;
 * `onStatus` hears of the derived order status in it.
 */
export async function handleFarmCallback(
  em: EntityManager,
  secretsKey: Buffer,
  raw: string,
  headers: { signature?: string; timestamp?: string },
  onStatus: OrderStatusListener,
  now = new Date(),
): Promise<CallbackAnswer> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { status: 400, body: { ok: false, error: 'body is not JSON' } };
  }
  const parsed = callbackSchema.safeParse(json);
  if (!parsed.success)
    return { status: 400, body: { ok: false, error: parsed.error.issues[0]?.message ?? 'invalid callback' } };
  const cb = parsed.data;
  return em.transactional(async (tx) => {
    const job = await db(tx)
      .selectFrom('render_job')
      .select(['tenant', 'order'])
      .where('id', '=', cb.job_id)
      .forUpdate()
      .executeTakeFirst();
    if (!job) return { status: 404, body: { ok: false, error: 'unknown job' } };
    const renderer = await getTenantRenderer(tx, secretsKey, job.tenant);
    if (renderer.backend !== 'http')
      return { status: 403, body: { ok: false, error: 'the tenant does not use a render farm' } };
    const check = verifyFarmSignature(renderer.secret, headers.timestamp, headers.signature, raw, now);
    if (check !== 'ok') return { status: 401, body: { ok: false, error: `signature ${check}` } };
    if (cb.status === 'completed') {
      const refused = resultUrlProblem(cb.result_url!, renderer.privateNetwork);
      if (refused) return { status: 400, body: { ok: false, error: refused } };
    }
    const fresh = await db(tx)
      .insertInto('render_callback')
      .values({ job: cb.job_id, status: cb.status })
      .onConflict((oc) => oc.doNothing())
      .returning('job')
      .executeTakeFirst();
    if (!fresh) return { status: 200, body: { ok: true, duplicate: true } };
    if (cb.status === 'completed') await completeJob(tx, job.tenant, cb.job_id, cb.result_url!, now);
    else if (cb.status === 'failed')
      await failJob(tx, job.tenant, cb.job_id, cb.error ?? 'the render farm reported a failure', now);
    else {
      // 'running' restarts the farm's time to report back (core/renders/farm-timeouts.ts).
      await markFarmRunning(tx, cb.job_id, now);
    }
    await deriveOrderStatus(tx, job.tenant, job.order, now, onStatus);
    return { status: 200, body: { ok: true } };
  });
}

/**
 * Why a reported result URL is refused, or undefined when it is fine: only `https:` (and `http:`
 * for a tenant whose farm is on a private network). Result URLs become links people click and
 * images their chat clients fetch, so `javascript:`, `data:`, `file:` and the like never pass.
 */
function resultUrlProblem(url: string, privateNetwork: boolean): string | undefined {
  const protocol = new URL(url).protocol;
  if (protocol === 'https:' || (protocol === 'http:' && privateNetwork)) return undefined;
  if (protocol === 'http:')
    return 'result_url must use https: (http: only for a farm configured with --private-network)';
  return `result_url must be an https: URL, not ${protocol}`;
}
