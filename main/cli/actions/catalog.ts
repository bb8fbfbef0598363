import path from 'node:path';
import { installCatalogEntry } from '../../core/clients/catalog-install.ts';
import { clientLocations } from '../../core/clients/locations.ts';
import { loadConfig } from '../../core/config/load.ts';
import { connectControlClient } from '../../core/control/connect.ts';
import { WardenError } from '../../core/errors.ts';
import { launcher } from '../../core/launcher.ts';
import type { WardenPaths } from '../../core/paths.ts';
import { reportOutcome, withChangeContext } from '../changes.ts';

const out = (text: string) => void process.stdout.write(text + '\n');

/** `catalog list`: the org catalog in force (from the running daemon): name, description, target. */
export async function listCatalog(paths: WardenPaths, options: { json?: boolean }): Promise<void> {
  const items = await (await connectControlClient(paths)).catalog();
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
}

/**
 * `catalog install <name>`: adds a catalog server to Warden's config and to a client's config,
 * which then launches it through Warden.
 * @throws WardenError NOT_FOUND for a name not in the catalog; USAGE for an unknown client; the
 *   change's errors.
 */
export async function installFromCatalog(
  paths: WardenPaths,
  name: string,
  options: { client: string; file?: string },
): Promise<void> {
  const control = await connectControlClient(paths);
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
  const config = loadConfig(paths, { createDefault: true });
  const result = await withChangeContext(paths, (ctx) =>
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
}
