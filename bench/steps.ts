/**
 * `npm run bench:steps`: what showing steps costs a turn (docs/design.md §12). Steps are made by
 * code and written on the stream's one-at-a-time chain, so they add no model call; this prints
 * the CPU time of the step path — titles and result lines for a turn of three tool calls, and a
 * stream taking their six updates with writes that answer at once — next to the turn's model time
 * (BENCH_MODEL_MS, default 3000, as bench:latency assumes). Prints numbers; asserts nothing.
 */
import { performance } from 'node:perf_hooks';
import { defaultPacing, pacedTextStream } from '../core/conversations/text-stream.ts';
import { stepLine, type TurnStep } from '../core/replies/steps.ts';
import { stepTitleOf } from '../core/tools/tool.ts';
import { searchProductsTool } from '../core/tools/search_products.ts';
import { checkMaterialsTool } from '../core/tools/check_materials.ts';
import { listOrdersTool } from '../core/tools/list_orders.ts';

const turns = Number(process.env.BENCH_TURNS ?? 20_000);
const modelMs = Number(process.env.BENCH_MODEL_MS ?? 3000);
const calls = [
  { tool: searchProductsTool, args: { category: 'Kugellager', limit: 25 }, outcome: '3,074 found' },
  { tool: checkMaterialsTool, args: { order_id: 'SA-2026-00201' }, outcome: '2 problems' },
  { tool: listOrdersTool, args: { limit: 10 }, outcome: '12 found' },
] as const;

let shown = 0;
const started = performance.now();
for (let t = 0; t < turns; t++) {
  const stream = pacedTextStream({
    pacing: defaultPacing,
    write: async () => {},
    writeSteps: async (changed) => {
      shown += changed.length;
    },
    finish: async () => undefined,
    onError: () => {},
  });
  for (const [i, c] of calls.entries()) {
    const running: TurnStep = { id: `call_${i}`, title: stepLine(stepTitleOf(c.tool, c.args)), state: 'running' };
    stream.step(running);
    stream.step({ ...running, state: 'done', result: stepLine(c.outcome) });
  }
  await stream.end();
}
const perTurnMs = (performance.now() - started) / turns;
console.log(`bench:steps: ${turns} turns of 3 tool calls (6 step updates each, ${shown} written after coalescing)`);
console.log(
  `  step path per turn: ${(perTurnMs * 1000).toFixed(1)} µs — ${((perTurnMs / modelMs) * 100).toFixed(4)} % of one ${modelMs} ms model call; model calls added: 0`,
);
