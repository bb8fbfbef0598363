import type { Command } from 'commander';
import { resolvePaths } from '../core/paths.ts';

/**
 * `mcp-warden connect <server>`: what client configs launch. The shim (main/shim/connect.ts) is
 * loaded only when the command runs, so no other command pays for it and it pays for no other.
 */
export function registerConnectCommand(program: Command): void {
  program
    .command('connect')
    .description(
      'bridge stdio to the daemon for one server (what MCP client configs launch); starts the daemon if needed',
    )
    .argument('<server>', 'server name from the config\'s "mcpServers"')
    .action(async (server: string) => {
      const configOverride = program.opts<{ config?: string }>().config;
      const { runConnect } = await import('../shim/connect.ts');
      const code = await runConnect({
        server,
        paths: resolvePaths(configOverride),
        cliEntry: process.argv[1]!,
        ...(configOverride ? { configOverride } : {}),
      });
      process.exit(code);
    });
}
