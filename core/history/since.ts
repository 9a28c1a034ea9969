import { UserInputError } from '../errors.ts';

const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * The moment `value` names, for `--since` flags: a span back from `now` ("36h", "7d", "2w") or a
 * date ("2026-12-01"). Throws a UserInputError with one sentence for anything else.
 */
export function sinceDate(value: string, now: Date): Date {
  const span = /^(\d{1,4})([hdw])$/.exec(value.trim());
  if (span) return new Date(now.getTime() - Number(span[1]) * UNIT_MS[span[2] as keyof typeof UNIT_MS]);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value.trim())) {
    const date = new Date(`${value.trim()}T00:00:00Z`);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new UserInputError(
    'bad_flag',
    `--since must be a span like 7d, 36h or 2w, or a date like 2026-12-01; got "${value}".`,
  );
}
