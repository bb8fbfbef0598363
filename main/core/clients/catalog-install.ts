import fs from 'node:fs';
import { parseConfig } from '../config/load.ts';
import { connectArgs } from '../config/server-name.ts';
import { isWardenError, WardenError } from '../errors.ts';
import type { CatalogEntry } from '../policy/org-policy.ts';
import { runChange, type ChangeContext, type ChangeOutcome, type Intent } from '../change/run-change.ts';
import type { ClientLocation } from './locations.ts';
import { assertUniqueServers, editJsonc, parseJsonc, readJsonc, serversOf } from './jsonc-file.ts';

/** What `catalog install` wrote. */
export interface CatalogInstall {
  /** The entry put into Warden's config (exactly the catalog's command and args, or URL). */
  wardenEntry: Record<string, unknown>;
  /** The entry put into the client's config (it launches the connect shim). */
  clientEntry: Record<string, unknown>;
  /** False when both entries were already there, identical. */
  changed: boolean;
  /** What the change recovered first or could not clean up (absent when nothing changed). */
  outcome?: ChangeOutcome;
}

/**
 * Installs an org catalog server into a client in one step: Warden's config gets the entry
 * with the catalog's exact command and args (or URL), which the org catalog admits as
 * IT-approved; the client's config gets `<launcher> connect <name>`. Comments and formatting of
 * both files are kept (jsonc-parser edits); a missing client file is created. Both results are
 * validated first (Warden's config through the daemon's schema, the client file as JSONC), and
 * both files are written as one change (see runChange): all or nothing, recovered after a crash.
 * @throws WardenError CONFLICT when either file already has another server of that name (or
 *   changed meanwhile), CONFIG_NOT_JSON / CONFIG_INVALID when a file is not a JSON object or the
 *   result would not be valid; nothing is changed then.
 */
export async function installCatalogEntry(
  entry: CatalogEntry,
  location: ClientLocation,
  wardenConfigFile: string,
  launcher: string,
  ctx: ChangeContext,
): Promise<CatalogInstall> {
  const wardenEntry: Record<string, unknown> = entry.url
    ? { url: entry.url }
    : { command: entry.command, args: entry.args ?? [] };
  const clientEntry: Record<string, unknown> = { command: launcher, args: connectArgs(entry.name) };
  if (location.client === 'vscode') clientEntry.type = 'stdio';

  if (!fs.existsSync(wardenConfigFile)) throw new WardenError('NOT_FOUND', `no file ${wardenConfigFile}`);
  const warden = readJsonc(wardenConfigFile);
  assertUniqueServers(warden, 'mcpServers');
  const client = fs.existsSync(location.file) ? readJsonc(location.file) : undefined;
  if (client) assertUniqueServers(client, location.key);
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const entryIn = (servers: Record<string, unknown>): unknown =>
    Object.hasOwn(servers, entry.name) ? servers[entry.name] : undefined;
  const existingWarden = entryIn(serversOf(warden, 'mcpServers'));
  if (existingWarden !== undefined && !same(existingWarden, wardenEntry))
    throw new WardenError(
      'CONFLICT',
      `Warden's config (${wardenConfigFile}) already has another server named "${entry.name}"; remove or rename it first`,
    );
  const existingClient = client ? entryIn(serversOf(client, location.key)) : undefined;
  if (existingClient !== undefined && !same(existingClient, clientEntry))
    throw new WardenError(
      'CONFLICT',
      `${location.label} (${location.file}) already has a server named "${entry.name}"; remove or rename it first`,
    );
  if (existingWarden !== undefined && existingClient !== undefined)
    return { wardenEntry, clientEntry, changed: false };

  const intents: Intent[] = [];
  if (existingWarden === undefined) {
    const next = editJsonc(warden.text, ['mcpServers', entry.name], wardenEntry);
    try {
      if (!parseConfig(next, wardenConfigFile).servers.has(entry.name))
        throw new WardenError('CONFIG_INVALID', `server "${entry.name}" would not be in force`);
    } catch (error) {
      if (!isWardenError(error)) throw error;
      throw new WardenError(
        error.code,
        `installing "${entry.name}" would leave Warden's config invalid, so nothing was changed:\n${error.message}`,
      );
    }
    intents.push({
      kind: 'write-file',
      file: wardenConfigFile,
      content: next,
      expect: warden.text,
      mode: 0o600,
    });
  }
  if (existingClient === undefined) {
    const before = client?.text ?? '{}\n';
    const next = editJsonc(before, [location.key, entry.name], clientEntry);
    const installed = serversOf(parseJsonc(next, location.file), location.key);
    if (!same(installed[entry.name], clientEntry))
      throw new WardenError(
        'CONFIG_INVALID',
        `the edit of ${location.file} would not take effect; nothing was changed`,
      );
    intents.push({
      kind: 'write-file',
      file: location.file,
      content: next,
      expect: client ? client.text : null,
    });
  }
  const outcome = await runChange(ctx, `catalog install ${entry.name} --client ${location.id}`, intents);
  return { wardenEntry, clientEntry, changed: true, outcome };
}
