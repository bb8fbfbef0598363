import type { Command } from 'commander';
import { resolvePaths } from '../core/paths.ts';
import type { ProtectOptions } from './actions/clients.ts';

/**
 * `mcp-warden clients …`: `list` reads the client files; `protect` and `restore` are the control
 * operations (core/control/handlers/clients.ts), through the running daemon when one runs (else
 * in this process; always in this process for a `--file` the daemon does not take). Declared
 * here; what they do is in actions/clients.ts, loaded on use.
 */
export function registerClientsCommands(program: Command): void {
  const clients = program
    .command('clients')
    .description('MCP client configs (Claude Desktop, Cursor, VS Code, Claude Code): find, protect, restore');
  const paths = () => resolvePaths(program.opts<{ config?: string }>().config);
  const actions = () => import('./actions/clients.ts');

  clients
    .command('list')
    .description(
      'the client configs found, their servers, which are protected, and plaintext secrets in them',
    )
    .option('--json', 'JSON output (secret values are never included)')
    .action(async (options: { json?: boolean }) => (await actions()).listClients(options));

  clients
    .command('protect')
    .description(
      "move a client's servers behind Warden: preview first, then write (secrets go to the keychain)",
    )
    .argument(
      '<client>',
      'claude-desktop, cursor, cursor-project, vscode, vscode-workspace, claude-code, claude-code-project',
    )
    .option('--server <name...>', 'only these servers')
    .option('--file <path>', 'the client config file, if not at its usual place')
    .option('-y, --yes', 'apply without asking (after reading the preview)')
    .action(async (id: string, options: ProtectOptions) =>
      (await actions()).protectClient(paths(), id, options),
    );

  clients
    .command('restore')
    .description(
      'put a client config back as it was before `protect` (byte for byte when nothing else changed)',
    )
    .argument('<client>')
    .option('--file <path>', 'the client config file, if not at its usual place')
    .action(async (id: string, options: { file?: string }) =>
      (await actions()).restoreClient(paths(), id, options),
    );
}
