import { pino, type Logger, type DestinationStream } from 'pino';
import { LOG_LEVEL_ENV_VAR } from './env-settings.ts';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach the diagnostic log (pino `redact`, see pino docs/redaction.md).
 * Secret values of upstream environments and headers are never logged; only their keys are.
 */
export const REDACTED_LOG_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.*',
  '*.headers.*',
  'env.*',
  '*.env.*',
];

export { LOG_LEVEL_ENV_VAR, LOG_LEVELS } from './env-settings.ts';

/**
 * Creates the process's one diagnostic logger (pino, JSON lines).
 * Components take child loggers tagged with `component`, `server` and `session`.
 * The audit log is separate: see audit/.
 * @param destination where lines go; defaults to stderr (fd 2), since stdout may carry MCP messages.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env[LOG_LEVEL_ENV_VAR] ?? 'info',
      base: { pid: process.pid },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
