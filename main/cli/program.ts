import { Command, CommanderError } from 'commander';
import { isWardenError } from '../core/errors.ts';
import { resolvePaths } from '../core/paths.ts';
import { registerAuditCommands } from './audit.ts';
import { registerConnectCommand } from './connect.ts';
import { registerDashboardCommand, registerServeCommand } from './serve.ts';
import { registerConfigCommands } from './config.ts';
import { registerApprovalsCommands } from './approvals.ts';
import { registerSecretsCommands } from './secrets.ts';
import { registerClientsCommands } from './clients.ts';
import { registerCatalogCommands } from './catalog.ts';
import { registerOperationCommands } from './operations.ts';
import {
  registerPinsCommands,
  registerPolicyCommands,
  registerRulesCommands,
  registerServersCommands,
} from './rules-pins-servers.ts';
import { WARDEN_VERSION } from '../core/version.ts';

/**
 * The `mcp-warden` command line. Each command lives in its own module and reuses the core.
 * Declaring a command (name, arguments, options, help) is cheap and done for all of them, so
 * `--help` lists everything; what a command does is imported when it runs (main/cli/actions/,
 * the shim for `connect`), so a command loads only the modules it needs.
 * Exit codes: 0 success, 1 a failure explained on stderr, 2 a usage error.
 */
export function buildProgram(): Command {
  const program = new Command('mcp-warden')
    .description(
      'A guard between AI clients and MCP servers: clients connect to Warden, Warden runs only the ' +
        'servers in your config, hides and blocks the tools you deny, and records every tools/call.',
    )
    .version(WARDEN_VERSION)
    .option('-c, --config <file>', 'config file (default: the OS config dir, or $MCP_WARDEN_CONFIG)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nQuick start:\n' +
        '  mcp-warden serve                  start the daemon with your config (a default one on first run)\n' +
        '  mcp-warden connect everything     what an MCP client launches: stdio <-> the daemon\n' +
        '  mcp-warden audit tail             the latest recorded tool calls\n',
    );
  // Before the commands are added, so they inherit it: usage errors reach main() and exit 2.
  program.exitOverride();
  // What an interrupted multi-step change left is recovered before any command looks at its
  // files. Not for the connect shim: it must start fast, and the daemon it reaches does it.
  program.hook('preAction', async (_program, action) => {
    if (action.name() === 'connect') return;
    const { recoverBeforeCommand } = await import('./changes.ts');
    await recoverBeforeCommand(resolvePaths(program.opts<{ config?: string }>().config));
  });
  registerServeCommand(program);
  registerDashboardCommand(program);
  registerConnectCommand(program);
  registerAuditCommands(program);
  registerApprovalsCommands(program);
  registerRulesCommands(program);
  registerPinsCommands(program);
  registerServersCommands(program);
  registerPolicyCommands(program);
  registerSecretsCommands(program);
  registerClientsCommands(program);
  registerCatalogCommands(program);
  registerConfigCommands(program);
  registerOperationCommands(program);
  return program;
}

/** Runs the command line with process.argv; sets process.exitCode. */
export async function main(): Promise<void> {
  // A reader that goes away (`mcp-warden audit export | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isWardenError(error)) {
      process.stderr.write(`mcp-warden: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}
