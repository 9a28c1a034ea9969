import type { FakeReply } from '../fakes/llm-server.ts';

/**
 * A scripted model turn that calls three read tools in one response — a search that finds the
 * three Kugellager products of the test catalogue, the latest orders, and the status of an order
 * that does not exist (a failing step) — then answers. `makeTenant` catalogues fit it.
 */
export function threeToolTurn(answer = 'Found 3 ball bearings; no orders yet.'): [FakeReply, FakeReply] {
  return [
    {
      toolCalls: [
        { id: 'call_search', name: 'search_products', arguments: { category: 'Kugellager' } },
        { id: 'call_orders', name: 'list_orders', arguments: {} },
        { id: 'call_status', name: 'get_order_status', arguments: { order_id: 'SA-2026-09999' } },
      ],
    },
    { content: answer },
  ];
}

/** The steps `threeToolTurn` ends with, in the order the model called the tools. */
export const threeToolSteps: { id: string; title: string; state: 'done' | 'failed'; result: string }[] = [
  { id: 'call_search', title: 'Searching Kugellager products…', state: 'done', result: '3 found' },
  { id: 'call_orders', title: 'Listing orders…', state: 'done', result: '0 found' },
  {
    id: 'call_status',
    title: 'Looking up SA-2026-09999…',
    state: 'failed',
    result: 'No order SA-2026-09999 was found.',
  },
];
