import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import { format } from 'node:util';
import type { Logger } from '../../core/logger.ts';

/** Bolt's logger interface on top of the injected pino child logger (docs/style.md §6). */
export function boltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const write =
    (lvl: 'debug' | 'info' | 'warn' | 'error') =>
    (...msgs: unknown[]) =>
      log[lvl]({ source: 'bolt' }, format(...msgs));
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
