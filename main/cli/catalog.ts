import path from 'node:path';
import type { Command } from 'commander';
import { installCatalogEntry } from '../core/clients/catalog-install.ts';
import { clientLocations } from '../core/clients/locations.ts';
import { connectControlClient } from '../core/control/connect.ts';
import { loadConfig } from '../core/config/load.ts';
import { WardenError } from '../core/errors.ts';
import { resolvePaths } from '../core/paths.ts';
import { reportOutcome, withChangeContext } from './changes.ts';
import { launcher } from '../core/launcher.ts';

const out = (text: string) => void process.stdout.write(text + '\n');

/**
 * `mcp-warden catalog list | install`: the servers IT approved in the org policy in force (read
 * from the running daemon, which verified the signed document), and installing one into a
 * client in one step.
 */
export function registerCatalogCommands(program: Command): void {
  const catalog = program
    .command('catalog')
    .description(
      'servers your org approved (from the signed org policy): list them, install one into a client',
    );
  const paths = () => resolvePaths(program.opts<{ config?: string }>().config);

  catalog
    .command('list')
    .description('the org catalog in force: name, description, exact command or URL')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => {
      const items = await (await connectControlClient(paths())).catalog();
      if (options.json) return out(JSON.stringify(items, null, 2));
      if (!items.length)
        return out(
          'the org policy in force has no catalog (or no org policy is configured: `mcp-warden policy status`)',
        );
      for (const item of items) {
        out(`${item.name}${item.configured ? '  (in your Warden config)' : ''}`);
        out(`  ${item.description}`);
        out(`  runs: ${item.target}`);
        out(`  from: ${item.from}`);
      }
    });

  catalog
    .command('install')
    .description(
      "add a catalog server to Warden's config and to a client's config (which then launches it through Warden)",
    )
    .argument('<name>', 'the catalog entry')
    .requiredOption(
      '--client <client>',
      `the client config to add it to: ${clientLocations()
        .map((l) => l.id)
        .join(', ')}`,
    )
    .option('--file <path>', 'the client config file, if not at its usual place')
    .action(async (name: string, options: { client: string; file?: string }) => {
      const p = paths();
      const control = await connectControlClient(p);
      const items = await control.catalog();
      const item = items.find((i) => i.name === name);
      if (!item)
        throw new WardenError(
          'NOT_FOUND',
          `the org catalog has no "${name}" (it has: ${items.map((i) => i.name).join(', ') || 'nothing'})`,
        );
      const location = clientLocations().find((l) => l.id === options.client);
      if (!location)
        throw new WardenError(
          'USAGE',
          `unknown client "${options.client}"; one of: ${clientLocations()
            .map((l) => l.id)
            .join(', ')}`,
        );
      const target = options.file ? { ...location, file: path.resolve(options.file) } : location;
      const config = loadConfig(p, { createDefault: true });
      const result = await withChangeContext(p, (ctx) =>
        installCatalogEntry(
          {
            name: item.name,
            description: item.description,
            ...(item.command ? { command: item.command, args: item.args ?? [] } : {}),
            ...(item.url ? { url: item.url } : {}),
          },
          target,
          config.file,
          launcher(),
          ctx,
        ),
      );
      reportOutcome(result.outcome);
      if (!result.changed) return out(`"${name}" is already installed in ${target.label} (${target.file})`);
      out(`added "${name}" to ${config.file}: it runs exactly \`${item.target}\` (approved by ${item.from})`);
      out(`added "${name}" to ${target.label} (${target.file}): ${JSON.stringify(result.clientEntry)}`);
      out(`A running Warden picks it up within seconds; restart ${target.label} to use it.`);
    });
}
