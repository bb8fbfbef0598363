import type { Command } from 'commander';
import { clientLocations } from '../core/clients/locations.ts';
import { resolvePaths } from '../core/paths.ts';

/**
 * `mcp-warden catalog list | install`: the servers IT approved in the org policy in force (read
 * from the running daemon, which verified the signed document), and installing one into a
 * client in one step. Declared here; what they do is in actions/catalog.ts, loaded on use.
 */
export function registerCatalogCommands(program: Command): void {
  const catalog = program
    .command('catalog')
    .description(
      'servers your org approved (from the signed org policy): list them, install one into a client',
    );
  const paths = () => resolvePaths(program.opts<{ config?: string }>().config);
  const actions = () => import('./actions/catalog.ts');

  catalog
    .command('list')
    .description('the org catalog in force: name, description, exact command or URL')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => (await actions()).listCatalog(paths(), options));

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
    .action(async (name: string, options: { client: string; file?: string }) =>
      (await actions()).installFromCatalog(paths(), name, options),
    );
}
