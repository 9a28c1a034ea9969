import { fetchFailure } from '../fetch-failure.ts';
import { signatureHeader, timestampHeader } from './farm.ts';
import { signFarmBody } from './signing.ts';

/** The body of a probe: no `job_id`, so a farm never takes it for a job (docs/render-farm.md §3). */
const farmProbeBody = JSON.stringify({ probe: true });

/** What a farm made of a probe: its HTTP status, or why no response came. */
export type FarmProbe = { responded: true; status: number } | { responded: false; reason: string };

/**
 * Sends the farm at `url` a probe signed with its secret, as jobs are signed, and reports its HTTP
 * status (any status: whether it means "reachable" is the caller's call). A connection error or
 * no response within `timeoutMs` is `responded: false` with the reason; never throws.
 */
export async function probeFarm(
  farm: { url: string; secret: string },
  timeoutMs: number,
  now = new Date(),
): Promise<FarmProbe> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  try {
    const res = await fetch(farm.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [signatureHeader]: signFarmBody(farm.secret, timestamp, farmProbeBody),
        [timestampHeader]: timestamp,
      },
      body: farmProbeBody,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    await res.body?.cancel();
    return { responded: true, status: res.status };
  } catch (err) {
    return { responded: false, reason: fetchFailure(err, timeoutMs) };
  }
}
