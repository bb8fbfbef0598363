/**
 * The environment variables Warden reads for its settings, and the log levels: plain constants
 * with no imports, so the command line can declare `serve`'s options (help text, choices)
 * without loading the daemon, pino or pino-roll.
 */

/** Environment variable that overrides the daemon's port. */
export const PORT_ENV_VAR = 'MCP_WARDEN_PORT';

/** Environment variable naming the diagnostic log level (`--log-level` of `serve` wins over it). */
export const LOG_LEVEL_ENV_VAR = 'MCP_WARDEN_LOG_LEVEL';

/** The levels pino knows, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Environment variable setting another rotation size: bytes, or a number with k, m or g. */
export const LOG_MAX_SIZE_ENV_VAR = 'MCP_WARDEN_LOG_MAX_SIZE';
