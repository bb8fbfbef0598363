import type { Command } from 'commander';
import { resolvePaths } from '../core/paths.ts';

/** `mcp-warden config …`: declared here; schema and check are in actions/config.ts, loaded on use. */
export function registerConfigCommands(program: Command): void {
  const paths = () => resolvePaths(program.opts<{ config?: string }>().config);
  const config = program.command('config').description('show and check the config file');
  config
    .command('path')
    .description('print the config file path in use')
    .action(() => {
      process.stdout.write(paths().configFile + '\n');
    });
  config
    .command('schema')
    .description('print the JSON Schema of the config file (also in resources/config.schema.json)')
    .action(async () => (await import('./actions/config.ts')).printConfigSchema());
  config
    .command('check')
    .description(
      'validate the config file and list the servers it guards (creates the default config if none exists)',
    )
    .action(async () => (await import('./actions/config.ts')).checkConfig(paths()));
}
