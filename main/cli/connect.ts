import type { Command } from 'commander';
import v8 from 'node:v8';
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
      // The shim's work per message is small and the same all along: Maglev's code serves it
      // as well as TurboFan's (the same CPU per call, measured), and without TurboFan the
      // compiler's code and its output are not paged in as calls go on, so the shim's RSS stays
      // flat (measured over 6 000 calls: 59.6 -> 60.3 MiB, against 60.6 -> 67.8 MiB with it).
      // Set before the shim's modules load, so none of their code is optimised by TurboFan.
      v8.setFlagsFromString('--no-turbofan');
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
