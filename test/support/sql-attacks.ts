/** Hostile SQL built by code, shared by the guard and memory suites. */

/** `levels` CTEs, each using the previous one's column `s` twice in `step` (`s || s`, `s + s`): it doubles at every level. */
export function doubling(start: string, step: string, levels: number): string {
  const ctes = Array.from({ length: levels }, (_, i) => `c${i + 1} as (select ${step} as s from c${i})`);
  return `with c0 as (select ${start} as s), ${ctes.join(', ')} select length(s::text) from c${levels}`;
}

/** A query joining `n` copies of v_render_jobs. */
export function joinedViews(n: number): string {
  const joins = Array.from({ length: n - 1 }, (_, i) => `join v_render_jobs j${i + 1} on j${i + 1}.id = j${i}.id`);
  return `select count(*) from v_render_jobs j0 ${joins.join(' ')}`;
}
