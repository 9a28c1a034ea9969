import { spawn } from 'node:child_process';

/** What a CLI run printed; `chunks` are the separate reads of its stdout. */
export type CliRun = { code: number; stdout: string; stderr: string; chunks: string[] };

/** How long one CLI run may take before it is killed and reported as hanging. */
const CLI_TIMEOUT_MS = 60_000;

/** Runs the real CLI (`node bot/cli.ts …`) in a child process with `env` added to this process's environment. */
export function runCli(args: string[], env: Record<string, string>, stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bot/cli.ts', ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `renderbot ${args.join(' ')} did not exit within ${CLI_TIMEOUT_MS / 1000} s; stdout: ${stdout.slice(-500)}; stderr: ${stderr.slice(-500)}`,
        ),
      );
    }, CLI_TIMEOUT_MS);
    let stdout = '';
    let stderr = '';
    const chunks: string[] = [];
    child.stdout.on('data', (d) => {
      stdout += d;
      chunks.push(String(d));
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, chunks });
    });
    child.stdin.end(stdin);
  });
}
