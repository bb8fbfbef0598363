import { loadConfig } from '../../core/config/load.ts';
import { connectArgs } from '../../core/config/server-name.ts';
import { connectControlClient } from '../../core/control/connect.ts';
import { startDaemon } from '../../core/daemon/daemon.ts';
import { WardenError } from '../../core/errors.ts';
import { launcher } from '../../core/launcher.ts';
import { createLogger } from '../../core/log.ts';
import { logMaxBytes, openRotatingLog } from '../../core/log-file.ts';
import type { WardenPaths } from '../../core/paths.ts';

/** The options of `mcp-warden serve` as commander parses them (see ../serve.ts). */
export interface ServeOptions {
  port?: string;
  logLevel: string;
  headless?: boolean;
}

/**
 * `mcp-warden serve`: runs the daemon in this process until SIGINT, SIGTERM or (not on Windows)
 * SIGHUP; prints where everything is unless headless.
 * @throws WardenError USAGE for a port that is not 0-65535; the config's and the daemon's errors.
 */
export async function serve(paths: WardenPaths, options: ServeOptions): Promise<void> {
  const config = loadConfig(paths, { createDefault: true });
  const port = options.port === undefined ? undefined : parsePort(options.port);
  const logger = createLogger({
    level: options.logLevel,
    ...(options.headless
      ? { destination: await openRotatingLog(paths.daemonLogFile, { maxBytes: logMaxBytes() }) }
      : {}),
  });
  const daemon = await startDaemon({ config, paths, logger, ...(port !== undefined ? { port } : {}) });
  if (!options.headless) {
    const lines = [
      `MCP Warden is guarding ${config.servers.size} server(s) at ${daemon.url}`,
      ...(daemon.core.paused
        ? [
            '  PAUSED:    no server runs until someone resumes Warden (in the dashboard below, or the tray menu)',
          ]
        : []),
      `  config:    ${config.file}`,
      `  audit log: ${paths.auditDb}`,
      `  state:     ${paths.daemonStateFile} (port and token, readable by you alone)`,
      '',
      'Point a stdio client (Claude Desktop, Cursor, ...) at a server with:',
      ...[...config.servers.keys()].map((name) => `  ${clientEntrySnippet(name, launcher())}`),
      'HTTP clients use http://127.0.0.1:' +
        daemon.port +
        '/mcp/<server> with the bearer token from the state file.',
      '',
      `Dashboard (this link works once; \`mcp-warden dashboard\` prints a new one):`,
      `  ${daemon.gateway.dashboardUrl()}`,
      'Press Ctrl-C to stop.',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'shutting down');
      void daemon.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // The terminal went away: stop as cleanly (the servers' process groups get no SIGHUP).
    if (process.platform !== 'win32') process.once('SIGHUP', stop);
  });
}

/**
 * A client config entry for `name` as JSON text (`"name": { "command": …, "args": [...] }`):
 * every string JSON-quoted, so any server name pastes into a config file as it is.
 */
export function clientEntrySnippet(name: string, command: string): string {
  const json = (value: unknown): string => JSON.stringify(value);
  return `${json(name)}: { "command": ${json(command)}, "args": [${connectArgs(name).map(json).join(', ')}] }`;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new WardenError('USAGE', `--port must be a port number (0-65535), got "${text}"`);
  }
  return port;
}

/** `mcp-warden dashboard`: prints a one-time URL of the running daemon's browser dashboard. */
export async function printDashboardUrl(paths: WardenPaths): Promise<void> {
  const control = await connectControlClient(paths);
  process.stdout.write(`${await control.dashboardUrl()}\n`);
}
