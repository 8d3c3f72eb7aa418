// Structured logs through pino. Secrets never reach a log line: the redact paths below cover
// every place a token, key or credential can sit in what we log.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const redactPaths = [
  'token',
  '*.token',
  'admin.token',
  'config.admin.token',
  'key',
  '*.key',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["proxy-authorization"]',
];

export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
