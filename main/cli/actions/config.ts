import { formatCommandLine } from '../../core/command-line.ts';
import { configJsonSchema } from '../../core/config/json-schema.ts';
import { loadConfig } from '../../core/config/load.ts';
import type { WardenPaths } from '../../core/paths.ts';

/** `config schema`: the JSON Schema of the config file, on stdout. */
export function printConfigSchema(): void {
  process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
}

/**
 * `config check`: validates the config file (creating the default one if none exists) and lists
 * the servers it guards.
 * @throws WardenError from loadConfig when the file is not valid, naming the file and the field.
 */
export function checkConfig(paths: WardenPaths): void {
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
}
