import type { Config } from '../../core/config.ts';
import { fetchFailure } from '../../core/fetch-failure.ts';
import { fail, ok, skip, warn, type CheckLine } from './report.ts';

/**
 * Fetches PUBLIC_URL/healthz as Slack, Teams and render farms would reach the bot. It needs the
 * bot running: when it does not answer and nothing answers on PORT here either, that is a
 * warning (run doctor again while `serve` runs); when the bot answers here but not through
 * PUBLIC_URL, it fails (DNS, TLS or the proxy).
 */
export async function checkPublicUrl(
  config: Pick<Config, 'PUBLIC_URL' | 'PORT'>,
  timeoutMs: number,
): Promise<CheckLine> {
  if (!config.PUBLIC_URL)
    return skip('public URL', 'PUBLIC_URL not set (needed for Slack OAuth, Teams, render-farm callbacks and links)');
  const url = `${config.PUBLIC_URL.replace(/\/+$/, '')}/healthz`;
  const what = `public URL ${url}`;
  const publicStatus = await get(url, timeoutMs);
  if (publicStatus === 'ok') return ok(`${what} answers`);
  const local = await get(`http://127.0.0.1:${config.PORT}/healthz`, timeoutMs);
  if (local === 'ok') {
    return fail(
      what,
      `not reachable (${publicStatus}) while the bot answers on port ${config.PORT} here`,
      `check DNS, TLS and the proxy that forwards PUBLIC_URL to port ${config.PORT}`,
    );
  }
  return warn(
    what,
    `not reachable (${publicStatus})`,
    'start the bot (npm start) and run renderbot doctor again while it runs: doctor can run next to serve',
  );
}

/** 'ok' for a 2xx response, else what happened. */
async function get(url: string, timeoutMs: number): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    await res.body?.cancel();
    return res.ok ? 'ok' : `HTTP ${res.status}`;
  } catch (err) {
    return fetchFailure(err, timeoutMs);
  }
}
