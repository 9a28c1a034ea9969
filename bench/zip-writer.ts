/**
 * `npm run bench:zip-writer`: the export's ZIP writer (core/exports/zip-writer.ts) alone, with
 * many tiny entries into a sink that drops the bytes, so what is measured is the writer's own
 * cost per entry (an order of 100,000 images is 100,000 entries). For each count in
 * BENCH_ZIP_ENTRIES (default 10,000, 65,600 and 100,000): wall time, the process's CPU time
 * (user + system) and its RSS growth (sampled every 20 ms), then µs of CPU per entry — flat
 * across the counts when the writer is linear in the number of entries.
 */
import { Writable } from 'node:stream';
import { createZipWriter } from '../core/exports/zip-writer.ts';

const counts = (process.env.BENCH_ZIP_ENTRIES ?? '10000,65600,100000').split(',').map(Number);
if (counts.some((n) => !Number.isInteger(n) || n <= 0))
  throw new Error(
    `BENCH_ZIP_ENTRIES must be positive whole numbers, comma-separated, got "${process.env.BENCH_ZIP_ENTRIES}"`,
  );
const MB = 1024 * 1024;

for (const count of counts) {
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done();
    },
  });
  const rss = () => process.memoryUsage().rss;
  const baseline = rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
  const cpu = process.cpuUsage();
  const started = performance.now();

  const zip = createZipWriter(sink, new Date('2026-03-01T12:00:00Z'));
  for (let i = 0; i < count; i++)
    await zip.addStored(`P-${String(i).padStart(6, '0')}.webp`, Buffer.from(`image ${i}`));
  const csv = zip.addDeflated('results.csv');
  await csv.write('"PIM ID"\r\n');
  await csv.end();
  const size = await zip.finish();

  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  peak = Math.max(peak, rss());
  const cpuSeconds = (used.user + used.system) / 1e6;
  if (size !== bytes) throw new Error(`the writer reported ${size} bytes, the sink took ${bytes}`);
  console.log(
    `  ${count.toLocaleString('en')} entries: ${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU (${((cpuSeconds / count) * 1e6).toFixed(1)} µs/entry), ${(size / MB).toFixed(1)} MB; RSS ${(baseline / MB).toFixed(0)} MB → peak ${(peak / MB).toFixed(0)} MB`,
  );
}
