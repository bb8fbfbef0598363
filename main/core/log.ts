import { pino, type Logger, type DestinationStream } from 'pino';

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

/** Environment variable naming the diagnostic log level (`--log-level` of `serve` wins over it). */
export const LOG_LEVEL_ENV_VAR = 'MCP_WARDEN_LOG_LEVEL';

/** The levels pino knows, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

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
