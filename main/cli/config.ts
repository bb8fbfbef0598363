import type { Command } from 'commander';
import { loadConfig } from '../core/config/load.ts';
import { configJsonSchema } from '../core/config/json-schema.ts';
import { formatCommandLine } from '../core/command-line.ts';
import { resolvePaths } from '../core/paths.ts';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('show and check the config file');
  config
    .command('path')
    .description('print the config file path in use')
    .action(() => {
      process.stdout.write(resolvePaths(program.opts<{ config?: string }>().config).configFile + '\n');
    });
  config
    .command('schema')
    .description('print the JSON Schema of the config file (also in resources/config.schema.json)')
    .action(() => {
      process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
    });
  config
    .command('check')
    .description(
      'validate the config file and list the servers it guards (creates the default config if none exists)',
    )
    .action(() => {
      const paths = resolvePaths(program.opts<{ config?: string }>().config);
      const loaded = loadConfig(paths, { createDefault: true });
      const lines = [`${loaded.file} is valid: ${loaded.servers.size} server(s)`];
      if (!loaded.warmUpstreams) lines.push('warm upstreams: off for every server (daemon.warmUpstreams)');
      for (const server of loaded.servers.values()) {
        const target = server.kind === 'stdio' ? formatCommandLine(server) : server.url;
        const lists = [
          server.tools.allow ? `allow ${server.tools.allow.join(', ')}` : '',
          server.tools.deny.length ? `deny ${server.tools.deny.join(', ')}` : '',
          server.kind === 'stdio' && (server.warm === false || !loaded.warmUpstreams) ? 'warm off' : '',
        ].filter(Boolean);
        lines.push(
          `  ${server.name} (${server.kind}): ${target}${lists.length ? `  [${lists.join('; ')}]` : ''}`,
        );
      }
      process.stdout.write(lines.join('\n') + '\n');
    });
}
