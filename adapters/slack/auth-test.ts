import { z } from 'zod';
import { fetchFailure } from '../../core/fetch-failure.ts';

/** Slack's public Web API, used when SLACK_API_URL is unset. */
const SLACK_API_DEFAULT = 'https://slack.com/api/';

const authTestAnswer = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  team: z.string().optional(),
  team_id: z.string().optional(),
});

/** What `auth.test` said about a token: the workspace it belongs to, or Slack's error (`invalid_auth`, `token_revoked`, …). */
export type SlackAuthTest = { ok: true; team?: string; teamId?: string } | { ok: false; error: string };

/**
 * Calls Slack's `auth.test` with `token` at `apiUrl` (SLACK_API_URL, default Slack's own) and
 * reports whether the token works. A connection error, a timeout after `timeoutMs` or an answer
 * that is not Slack's JSON is an `ok: false` with a short reason; never throws, and the token
 * never appears in the result.
 */
export async function slackAuthTest(
  token: string,
  opts: { apiUrl?: string; timeoutMs: number },
): Promise<SlackAuthTest> {
  const base = (opts.apiUrl ?? SLACK_API_DEFAULT).replace(/\/?$/, '/');
  let res: Response;
  try {
    res = await fetch(`${base}auth.test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    return { ok: false, error: fetchFailure(err, opts.timeoutMs) };
  }
  const parsed = authTestAnswer.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) return { ok: false, error: `HTTP ${res.status} without Slack's answer` };
  const a = parsed.data;
  return a.ok
    ? { ok: true, ...(a.team ? { team: a.team } : {}), ...(a.team_id ? { teamId: a.team_id } : {}) }
    : { ok: false, error: a.error ?? 'unknown_error' };
}
