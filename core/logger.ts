import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths whose values are never written to logs (tenant keys, platform tokens, auth headers). */
export const redactPaths = [
  'apiKey', '*.apiKey', '*.*.apiKey', 'api_key', '*.api_key',
  'token', '*.token', 'botToken', '*.botToken', 'password', '*.password',
  'headers.authorization', '*.headers.authorization', 'headers["api-key"]', '*.headers["api-key"]',
  'secretsKey', '*.secretsKey', 'SECRETS_KEY', 'MicrosoftAppPassword', 'SLACK_BOT_TOKEN', 'SLACK_CLIENT_SECRET',
  'SLACK_SIGNING_SECRET', 'SLACK_STATE_SECRET', 'SLACK_APP_TOKEN',
];

/** Root logger; components take `logger.child({ component })`. */
export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino({ level, base: undefined, redact: { paths: redactPaths, censor: '[redacted]' } }, destination ?? pino.destination(2));
}
