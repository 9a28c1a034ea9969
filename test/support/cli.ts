import { spawn } from 'node:child_process';

/** What a CLI run printed; `chunks` are the separate reads of its stdout. */
export type CliRun = { code: number; stdout: string; stderr: string; chunks: string[] };

/** Runs the real CLI (`node bot/cli.ts …`) in a child process with `env` added to this process's environment. */
export function runCli(args: string[], env: Record<string, string>, stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bot/cli.ts', ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
    let stdout = '';
    let stderr = '';
    const chunks: string[] = [];
    child.stdout.on('data', (d) => { stdout += d; chunks.push(String(d)); });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, chunks }));
    child.stdin.end(stdin);
  });
}
