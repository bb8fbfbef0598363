import path from 'node:path';
import { PORT_ENV_VAR } from '../core/daemon/daemon.ts';
import { WardenError } from '../core/errors.ts';

/** What this launch of the app binary is for, from its command line. */
export type Launch =
  /** `<app> connect <server>`: the stdio connect shim, nothing else. */
  | { mode: 'connect'; server: string; config?: string }
  /** `<app> connect` without a server name. */
  | { mode: 'usage'; message: string }
  /** The tray app. `hidden`: started in the background (by a shim or at login), no dashboard. */
  | { mode: 'app'; hidden: boolean; config?: string };

/**
 * The arguments after the executable (and after the app path when run as `electron <app>`,
 * i.e. when `process.defaultApp` is true).
 */
export function userArgs(argv: readonly string[], defaultApp: boolean): string[] {
  return argv.slice(defaultApp ? 2 : 1);
}

/**
 * Reads the app's command line. The first positional argument decides: `connect <server>` is
 * the shim; `serve` (what a shim's daemon launcher passes) or `--hidden` starts the tray app
 * without opening the dashboard; anything else starts the tray app. `--config FILE`,
 * `--config=FILE` and `-c FILE` name the config file, as for the CLI. Other switches (Chromium's,
 * macOS's `-psn_…`) are skipped; after `--` every argument is positional, as for the CLI.
 * @param argv process.argv.
 * @param defaultApp process.defaultApp (true when run as `electron <app path>`).
 */
export function parseLaunch(argv: readonly string[], defaultApp: boolean): Launch {
  const args = userArgs(argv, defaultApp);
  const positionals: string[] = [];
  let config: string | undefined;
  let hidden = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      // Everything after "--" is an operand: `connect -- -name` (connectArgs) for a server
      // name that starts with "-".
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === '--config' || arg === '-c') {
      config = args[++i];
    } else if (arg.startsWith('--config=')) {
      config = arg.slice('--config='.length);
    } else if (arg === '--hidden' || arg === '--headless') {
      hidden = true;
    } else if (!arg.startsWith('-')) {
      positionals.push(arg);
    }
  }
  const withConfig = config ? { config } : {};
  if (positionals[0] === 'connect') {
    const server = positionals[1];
    if (!server) return { mode: 'usage', message: 'usage: connect <server> (a server name from the config)' };
    return { mode: 'connect', server, ...withConfig };
  }
  return { mode: 'app', hidden: hidden || positionals[0] === 'serve', ...withConfig };
}

/** The switch a shim passes when it starts the packaged app as its daemon. */
export const HIDDEN_SWITCH = '--hidden';

/**
 * What the shim passes to its daemon launcher as "the CLI entry" (ensureDaemon spawns
 * `process.execPath <entry> [--config FILE] serve --headless`): the app path when run as
 * `electron <app>`, so the same app starts; in a packaged app, where the executable is the app,
 * HIDDEN_SWITCH, which parseLaunch reads as "start the tray app in the background".
 */
export function daemonEntryArg(argv: readonly string[], defaultApp: boolean): string {
  const appPath = argv[1];
  return defaultApp && appPath ? path.resolve(appPath) : HIDDEN_SWITCH;
}

/**
 * The daemon port from the environment ($MCP_WARDEN_PORT), or undefined to use the config's.
 * @throws WardenError USAGE when it is set but not a port number (0-65535).
 */
export function portFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env[PORT_ENV_VAR];
  if (text === undefined || text === '') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new WardenError('USAGE', `$${PORT_ENV_VAR} must be a port number (0-65535), got "${text}"`);
  }
  return port;
}
