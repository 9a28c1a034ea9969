import { spawn, type ChildProcess } from 'node:child_process';

/** A `renderbot serve` (or `worker`) running as a process of its own. */
export type ServeProcess = {
  child: ChildProcess;
  /** The HTTP port it listens on (0 for `worker`). */
  port: number;
  base: string;
  /** Everything it wrote to stderr (and stdout) so far. */
  output(): string;
  /** Resolves with how it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs it if it still runs and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/**
 * Starts `node bot/cli.ts <command>` with this process's environment plus `env` (PORT 0 unless
 * given) and resolves once it is serving (`serve`: its "RenderBot is running on …" line with the
 * port; `worker`: its "worker running" log line).
 */
export function startServe(env: Record<string, string>, command: 'serve' | 'worker' = 'serve'): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['bot/cli.ts', command], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += String(d);
      const port = /RenderBot is running on http:\/\/localhost:(\d+)/.exec(out)?.[1];
      if (port || (command === 'worker' && out.includes('worker running'))) {
        const p = Number(port ?? 0);
        resolve({
          child,
          port: p,
          base: `http://127.0.0.1:${p}`,
          output: () => out,
          exited,
          async kill(signal = 'SIGKILL') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(({ code, signal }) =>
      reject(new Error(`renderbot ${command} exited (${code ?? signal}) before it was ready:\n${out.slice(-2000)}`)),
    );
  });
}
