/** How one doctor check came out; only `fail` makes `renderbot doctor` exit 1. */
type CheckStatus = 'ok' | 'fail' | 'warn' | 'skip';

/** One line of the doctor's report: what was checked and, unless ok, what is wrong and how to fix it. */
export type CheckLine = { status: CheckStatus; what: string; detail?: string; fix?: string };

/** How long each network check may take (a database connection, one HTTP request, one token). */
export const CHECK_TIMEOUT_MS = 10_000;

/** A check that passed; `detail` says what was found (a workspace name, a version). */
export const ok = (what: string, detail?: string): CheckLine => ({ status: 'ok', what, ...(detail ? { detail } : {}) });
/** A check that failed: the problem and the fix. */
export const fail = (what: string, problem: string, fix: string): CheckLine => ({
  status: 'fail',
  what,
  detail: problem,
  fix,
});
/** A problem that may be expected where doctor runs (e.g. the bot is not running); does not fail the run. */
export const warn = (what: string, problem: string, fix: string): CheckLine => ({
  status: 'warn',
  what,
  detail: problem,
  fix,
});
/** A check that did not apply, with the reason. */
export const skip = (what: string, reason: string): CheckLine => ({ status: 'skip', what, detail: reason });

const LABEL: Record<CheckStatus, string> = { ok: 'ok  ', fail: 'FAIL', warn: 'warn', skip: 'skip' };

/**
 * One printable line: `ok   <what> (<detail>)`, `FAIL <what>: <problem> — <fix>`, `warn …` alike,
 * `skip <what>: <reason>`. Every value in `secrets` is replaced by `[redacted]`, whatever a
 * library or a server put into a message.
 */
export function formatLine(line: CheckLine, secrets: readonly string[] = []): string {
  const text =
    line.status === 'ok'
      ? `${LABEL.ok} ${line.what}${line.detail ? ` (${line.detail})` : ''}`
      : `${LABEL[line.status]} ${line.what}: ${(line.detail ?? '').replace(/\.$/, '')}${line.fix ? ` — ${line.fix}` : ''}`;
  return scrub(text.replace(/\s*[\r\n]+\s*/g, ' '), secrets);
}

/** `text` with every secret (6 characters or more) replaced by `[redacted]`. */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((s) => s.length >= 6).sort((a, b) => b.length - a.length))
    out = out.replaceAll(s, '[redacted]');
  return out;
}

/** 1 when any check failed, else 0 (skips and warnings pass). */
export function exitCode(lines: readonly CheckLine[]): 0 | 1 {
  return lines.some((l) => l.status === 'fail') ? 1 : 0;
}

/** `promise`, or a rejection "no answer within N s" after `ms` (for calls that take no abort signal). */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A short reason for an error: the deepest socket error code, else its first sentence (at most 200 characters, no final period). */
export function reasonOf(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    if (!(e.cause instanceof Error)) break;
    e = e.cause;
  }
  const message = err instanceof Error ? err.message : String(err);
  const first = message
    .split(/\n|(?<=\.)\s/)[0]!
    .trim()
    .replace(/\.$/, '');
  return first.length > 200 ? `${first.slice(0, 199)}…` : first;
}
