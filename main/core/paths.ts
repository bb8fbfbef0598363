import envPaths from 'env-paths';
import path from 'node:path';

/**
 * Where MCP Warden keeps its files, per OS conventions (env-paths: XDG on Linux,
 * ~/Library on macOS, %APPDATA% / %LOCALAPPDATA% on Windows).
 *
 * - `config`: the user's config file `config.json`.
 * - `data`: the audit database `audit.db` and the default filesystem sandbox.
 * - `state`: the daemon's state file `daemon.json` (port, token, pid; mode 0600) and `daemon.log`
 *   (a link to the active `daemon.<n>.log`, see log-file.ts), `daemon.stderr.log`.
 */
export interface WardenPaths {
  configDir: string;
  configFile: string;
  dataDir: string;
  auditDb: string;
  /** Approvals, pins, remembered decisions, quotas (state.db). */
  stateDb: string;
  sandboxDir: string;
  stateDir: string;
  daemonStateFile: string;
  daemonLogFile: string;
}

/** Environment variable that overrides the config file's location. */
export const CONFIG_ENV_VAR = 'MCP_WARDEN_CONFIG';

/**
 * Resolves Warden's paths for the current user.
 * @param configOverride a config file path from `--config`; else `$MCP_WARDEN_CONFIG`; else the OS default.
 */
export function resolvePaths(configOverride?: string, env: NodeJS.ProcessEnv = process.env): WardenPaths {
  const p = envPaths('mcp-warden', { suffix: '' });
  const configFile = path.resolve(
    configOverride ?? env[CONFIG_ENV_VAR] ?? path.join(p.config, 'config.json'),
  );
  return {
    configDir: p.config,
    configFile,
    dataDir: p.data,
    auditDb: path.join(p.data, 'audit.db'),
    stateDb: path.join(p.data, 'state.db'),
    sandboxDir: path.join(p.data, 'sandbox'),
    stateDir: p.log,
    daemonStateFile: path.join(p.log, 'daemon.json'),
    daemonLogFile: path.join(p.log, 'daemon.log'),
  };
}
