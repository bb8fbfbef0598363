import { Option, type Command } from 'commander';
import { LOG_LEVEL_ENV_VAR, LOG_LEVELS, LOG_MAX_SIZE_ENV_VAR, PORT_ENV_VAR } from '../core/env-settings.ts';
import { resolvePaths } from '../core/paths.ts';
import type { ServeOptions } from './actions/serve.ts';

/** `mcp-warden serve`: declared here; the daemon is loaded when the command runs (actions/serve.ts). */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the Warden daemon in the foreground (one per user; Ctrl-C stops it)')
    .addOption(
      new Option('-p, --port <port>', 'loopback port (default: "daemon.port" in the config, or 47113)').env(
        PORT_ENV_VAR,
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'diagnostic log level')
        .choices(LOG_LEVELS)
        .default('info')
        .env(LOG_LEVEL_ENV_VAR),
    )
    .option(
      '--headless',
      `started by a shim: no banner; the diagnostic log goes to daemon.log in the state directory, rotated by size (${LOG_MAX_SIZE_ENV_VAR})`,
    )
    .action(async (options: ServeOptions) => {
      const paths = resolvePaths(program.opts<{ config?: string }>().config);
      await (await import('./actions/serve.ts')).serve(paths, options);
    });
}

/** `mcp-warden dashboard`: prints a one-time URL of the running daemon's browser dashboard. */
export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('print a one-time link to the dashboard of the running daemon (open it in your browser)')
    .action(async () => {
      const paths = resolvePaths(program.opts<{ config?: string }>().config);
      await (await import('./actions/serve.ts')).printDashboardUrl(paths);
    });
}
