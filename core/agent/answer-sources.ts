import type { RenderLinks } from '../renders/signing.ts';
import type { Source } from '../replies/reply.ts';
import type { ToolCites } from '../tools/tool.ts';

/** Orders and counts cited under one answer at most; the rest are left out (the answer names them). */
const MAX_CITED_ORDERS = 8;
const MAX_CITED_COUNTS = 4;

/**
 * The sources of an answer from what its tool calls read (`effects.cites`), in the order they
 * were read: each order once (with its signed results page when `links` are given), each count
 * once. Pure apart from the clock the links are signed with.
 */
export function answerSources(cites: readonly ToolCites[], links: RenderLinks | undefined, now: Date): Source[] {
  const orders = new Map<string, { id: string; number: string }>();
  const counts = new Map<string, { count: number; what: string }>();
  for (const c of cites) {
    for (const o of c.orders ?? []) if (!orders.has(o.number)) orders.set(o.number, o);
    for (const n of c.counts ?? []) counts.set(`${n.count} ${n.what}`, n);
  }
  return [
    ...[...orders.values()].slice(0, MAX_CITED_ORDERS).map((o): Source => ({
      kind: 'order',
      number: o.number,
      ...(links ? { url: links.signedResultsUrl(o.id, undefined, now) } : {}),
    })),
    ...[...counts.values()]
      .slice(0, MAX_CITED_COUNTS)
      .map((n): Source => ({ kind: 'count', count: n.count, what: n.what })),
  ];
}
