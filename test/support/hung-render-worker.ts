/**
 * A queue worker process for the crashed-worker test: `node hung-render-worker.ts <database url>
 * <dead after ms>` runs render jobs with a backend that reports the job over IPC and then never
 * returns, so the test can SIGKILL the process mid-job. Reports its pool id once running.
 */
import { mkdtempSync } from 'node:fs';
import { scheduleNotices } from '../../core/notices/schedule.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createOrm } from '../../core/db/orm.ts';
import { startWorker } from '../../core/queue/worker.ts';
import { createRenderTasks } from '../../core/renders/task.ts';

const [url, deadAfter] = process.argv.slice(2);
if (!url || !deadAfter) throw new Error('usage: hung-render-worker.ts <database url> <dead after ms>');
const log = pino({ level: 'silent' });
const orm = await createOrm(url, { poolMax: 2 });
const tasks = createRenderTasks({
  onOrderStatus: scheduleNotices,
  orm,
  log,
  secretsKey: Buffer.alloc(32),
  dataDir: mkdtempSync(join(tmpdir(), 'renderbot-hung-')),
  backendFor: () => (job) => {
    process.send?.({ type: 'started', jobId: job.jobId });
    return new Promise<never>(() => {});
  },
});
const worker = await startWorker({ url, tasks, log, concurrency: 1, deadAfterMs: Number(deadAfter) });
process.send?.({ type: 'ready', workerId: worker.id });
