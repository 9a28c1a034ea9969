/**
 * Child-process entry of `npm run bench:inflight`: the scripted OpenAI-compatible fake in a process
 * of its own (so its request log does not count in the measured process), holding every request
 * until the parent sends `open`. Reports `{ type: 'ready', settings, apiKey }`, then
 * `{ type: 'waiting', n }` whenever the number of held requests reaches `n` (BENCH_TURNS).
 */
import { startFakeLlm } from '../../test/fakes/llm-server.ts';

const turns = Number(process.env.BENCH_TURNS ?? 1000);
const llm = await startFakeLlm({ provider: 'openai' });
let waiting = 0;
let open!: () => void;
const opened = new Promise<void>((r) => {
  open = r;
});
for (let i = 0; i < turns; i++) {
  llm.enqueue(async () => {
    if (++waiting === turns) process.send?.({ type: 'waiting', n: waiting });
    await opened;
    return { content: 'Three orders are rendering; SA-2026-00160 is 40% done.' };
  });
}
process.on('message', (m: { type: string }) => {
  if (m.type === 'open') open();
  if (m.type === 'stop') void llm.close().then(() => process.exit(0));
});
process.send?.({ type: 'ready', settings: llm.settings, apiKey: llm.apiKey });
