import { probeFarm } from '../../core/renders/farm-probe.ts';
import { fail, ok, skip, type CheckLine } from './report.ts';
import type { OpenTenant } from './secrets.ts';

/**
 * Sends each tenant's render farm a signed probe, concurrently; one line per tenant that uses a
 * farm (one skip line when none does). Any HTTP answer shows the farm is reachable, except
 * 401/403 (it refuses the shared secret) and 5xx (it is failing).
 */
export async function checkFarms(tenants: OpenTenant[], timeoutMs: number): Promise<CheckLine[]> {
  const withFarm = tenants.filter((t) => t.farm);
  if (withFarm.length === 0) return [skip('render farms', 'no tenant uses one (the built-in renderer needs no check)')];
  return Promise.all(
    withFarm.map(async (t): Promise<CheckLine> => {
      const what = `render farm of tenant ${t.slug}`;
      const farm = t.farm!;
      if ('unusable' in farm) return skip(what, 'its shared secret cannot be decrypted (see SECRETS_KEY)');
      const setAgain = `renderbot admin tenant renderer --tenant ${t.slug} --backend http --url … --secret …`;
      const where = safeUrl(farm.url);
      const probe = await probeFarm(farm, timeoutMs);
      if (!probe.responded)
        return fail(
          what,
          `${where} is not reachable: ${probe.reason}`,
          `check that the farm runs and the URL is right (${setAgain})`,
        );
      if (probe.status === 401 || probe.status === 403)
        return fail(
          what,
          `${where} refused the signature (HTTP ${probe.status})`,
          `give both sides the same shared secret (${setAgain})`,
        );
      if (probe.status >= 500)
        return fail(
          what,
          `${where} answered HTTP ${probe.status}`,
          'the farm (or a proxy in front of it) is failing: look at its logs',
        );
      return ok(`${what} answers`, `${where}, HTTP ${probe.status}`);
    }),
  );
}

/** Origin and path: never userinfo or a query that might hold a token. */
function safeUrl(value: string): string {
  const u = new URL(value);
  return `${u.origin}${u.pathname}`;
}
