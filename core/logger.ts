import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Paths whose values are never written to logs (tenant keys, platform tokens, auth headers). */
const redactPaths = [
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'api_key',
  '*.api_key',
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'password',
  '*.password',
  'headers.authorization',
  '*.headers.authorization',
  'headers["api-key"]',
  '*.headers["api-key"]',
  'secretsKey',
  '*.secretsKey',
  'SECRETS_KEY',
  'MicrosoftAppPassword',
  'SLACK_BOT_TOKEN',
  'SLACK_CLIENT_SECRET',
  'SLACK_SIGNING_SECRET',
  'SLACK_STATE_SECRET',
  'SLACK_APP_TOKEN',
];

/** How log lines are written: one JSON object a line, or readable lines for a person at a terminal. */
type LogFormat = 'json' | 'pretty';

/** Where and how `createLogger` writes; every field optional. */
export type LogOutput = {
  /** `json` or `pretty`; unset: `pretty` when the destination is a terminal, else `json` (LOG_FORMAT). */
  format?: LogFormat;
  /** Whether the destination is a terminal; default: stderr's `isTTY`, or false for a given destination. */
  isTTY?: boolean;
};

/**
 * Root logger; components take `logger.child({ component })`. Lines go to `destination`
 * (default stderr), as JSON or — on a terminal, or with `format: 'pretty'` — as readable lines,
 * coloured on a terminal. Redaction applies to both: pretty lines are made from the redacted JSON.
 */
export function createLogger(
  level: string = 'info',
  destination?: pino.DestinationStream,
  output: LogOutput = {},
): Logger {
  const options = { level, base: undefined, redact: { paths: redactPaths, censor: '[redacted]' } };
  const isTTY = output.isTTY ?? (destination ? false : Boolean(process.stderr.isTTY));
  if ((output.format ?? (isTTY ? 'pretty' : 'json')) === 'pretty') {
    // A stream in this thread, not a worker transport: lines written just before process.exit are not lost.
    return pino(
      options,
      pretty({ destination: destination ?? 2, colorize: isTTY, sync: true, translateTime: 'SYS:HH:MM:ss.l' }),
    );
  }
  return pino(options, destination ?? pino.destination(2));
}
