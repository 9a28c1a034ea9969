import { fork, type ChildProcess } from 'node:child_process';

/** A bot under test running in a child process of its own (as it would in production). */
export type Target = { name: string; port: number; base: string; pid: number; stop(): Promise<void> };

type Ready = { type: 'ready'; port: number } | { type: 'failed'; error: string };

/**
 * Forks `file` with argument `kind` and environment `env` (nothing else of this process's
 * environment but PATH and HOME), waits for it to report its HTTP port, and stops it on request
 * (a `stop` message, then SIGKILL of that pid after 20 s).
 */
export async function startTarget(
  name: string,
  file: string,
  kind: string,
  env: Record<string, string>,
): Promise<Target> {
  const child: ChildProcess = fork(file, [kind], {
    execPath: process.execPath,
    // BENCH_CHILD_NODE_OPTIONS (e.g. --cpu-prof) reaches the bots under test only.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...(process.env.BENCH_CHILD_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_CHILD_NODE_OPTIONS } : {}),
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not ready after 120 s`)), 120_000);
    child.once('message', (m: Ready) => {
      clearTimeout(timer);
      if (m.type === 'ready') resolve(m.port);
      else reject(new Error(`${name}: ${m.error}`));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited before it was ready`));
    });
  });
  return {
    name,
    port,
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side: starts the target, reports its port, and closes it when the parent says stop. */
export async function serveTarget(start: () => Promise<{ port: number; close(): Promise<void> }>): Promise<void> {
  let running: { port: number; close(): Promise<void> };
  try {
    running = await start();
  } catch (err) {
    process.send?.({
      type: 'failed',
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    } satisfies Ready);
    process.exit(1);
  }
  process.on('message', (m: { type?: string }) => {
    if (m.type !== 'stop') return;
    running
      .close()
      .catch((err: unknown) => console.error('close failed', err))
      .finally(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', port: running.port } satisfies Ready);
}
