import { pino, type Logger } from 'pino';

export type { Logger };

/** Fields that may carry secrets; pino replaces their values wherever they appear. */
export const REDACTED_PATHS = [
  'privateKey',
  'passphrase',
  'password',
  'token',
  'secret',
  '*.privateKey',
  '*.passphrase',
  '*.password',
  '*.token',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'sophon' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
