import type { StoredToolCall } from '../history/messages.ts';

/** A tool call of a refused model response, as it is stored, and the result it gets. */
export type RefusedCall = { call: StoredToolCall; result: string };

/**
 * Checks that the tool calls of one model response have distinct ids; undefined when they do.
 * When some share an id, nothing of the response may run (results, plans and what a plan froze
 * are told apart by call): returns every call with repeated ids made distinct (so the stored
 * history stays valid for the provider), the first given what went wrong as its result — said once —
 * and the others pointing to it.
 */
export function refuseSharedCallIds(calls: readonly StoredToolCall[]): RefusedCall[] | undefined {
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c.id, (counts.get(c.id) ?? 0) + 1);
  const shared = [...counts].filter(([, n]) => n > 1);
  if (!shared.length) return undefined;
  const taken = new Set(counts.keys());
  const seen = new Set<string>();
  const stored = calls.map((c) => {
    if (!seen.has(c.id)) {
      seen.add(c.id);
      return c;
    }
    let k = 2;
    while (taken.has(`${c.id}-${k}`)) k++;
    taken.add(`${c.id}-${k}`);
    return { ...c, id: `${c.id}-${k}` };
  });
  const which = shared.map(([id, n]) => `${n} calls share the id ${JSON.stringify(id)}`).join(', ');
  const explained =
    `Error: not run. The tool calls of this response must each have their own id, but ${which}. ` +
    'None of the calls of this response ran and nothing awaits confirmation: make the calls again, each with a unique id.';
  const first = stored[0]!.id;
  return stored.map((call, i) => ({
    call,
    result: i === 0 ? explained : `Error: not run; see the result of ${first}.`,
  }));
}
