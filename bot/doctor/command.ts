import { Command } from 'commander';
import type { Config } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { exitCode, fail, formatLine } from './report.ts';
import { runDoctor } from './run.ts';

/**
 * `renderbot doctor`: prints one line per check to stdout and sets exit code 0 when none failed,
 * else 1. An invalid environment is a FAIL line too (not the usual exit 2), since finding that is
 * the command's job.
 */
export function doctorCommand(setup: () => { config: Config; log: Logger }, print: (line: string) => void): Command {
  return new Command('doctor')
    .description(
      'check a deployment: database, SECRETS_KEY, Slack and Teams credentials, models, render farms, PUBLIC_URL (safe next to a running serve)',
    )
    .action(async () => {
      let loaded: { config: Config; log: Logger };
      try {
        loaded = setup();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        print(formatLine(fail('configuration', err.message, 'fix that variable in the environment')));
        process.exitCode = 1;
        return;
      }
      const report = await runDoctor(loaded.config, loaded.log);
      for (const line of report.lines) print(formatLine(line, report.secrets));
      process.exitCode = exitCode(report.lines);
    });
}
